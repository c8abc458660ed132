"""Demo subsidies for `make run` (issue #14): the programmes of domain.md, so the demo's
settlement runs accrue the logistics subsidy on orders shipped with 顺丰速运 or 京东物流, and
three fit-out / training applications of the demo shops: one approved in the second demo
month (paid in its statement), one refused with a reason, one waiting for operations.

The tax rebate: 优选电器 (demo/merchants.py, `TAX_REBATE_SHOP`) went live in the demo's tax
year (`demo.orders.demo_tax_year`: usually last year). In that year's December it sells
large orders worth more than ¥5,000,000 through the real order services (stock received, paid
through the sandbox gateway, shipped with a carrier the logistics subsidy does not cover,
received), and the real run settles that December on 1 January as demo/settlements.py
settles a month (approved, invoiced and paid in the payout batch of the 5th). Its yearly
revenue from those statements reaches the lowest step (30 %): in the first demo month the shop
applies with its local contribution of ¥420,000.00, operations approve ¥126,000.00, paid in
the first month's statement.

Runs before the settlements step, whose runs pay the approved grants. Idempotent: when the
programmes exist, nothing is created.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog import services as catalog_services
from catalog.choices import WarehouseKind
from catalog.models import SKU, Warehouse
from demo.catalog import SHOPS
from demo.merchants import TAX_REBATE_SHOP
from demo.orders import ADDRESSES, _pay, clock, demo_periods, demo_tax_year
from demo.settlements import ADMIN, FINANCE, _approve_and_pay, _on, _run
from marketplace.money import ZERO
from merchants.choices import MerchantStatus
from merchants.models import Merchant
from orders import services as order_services
from orders.models import Address
from settlements.models import GrantApplication, SubsidyProgramme
from settlements.periods import Period, local_midnight
from settlements.services import subsidies

OPERATIONS = "ops@demo.local"
# A one-page PDF, enough for the upload checks (type from its bytes, complete).
INVOICE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _invoice(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, INVOICE, content_type="application/pdf")


#: The tax-rebate shop's December sales: orders until their base reaches this (above the
#: lowest step, ¥5,000,000, below the next, ¥10,000,000), each worth about `TAX_ORDER_TARGET`.
TAX_YEAR_SALES = Decimal("6000000.00")
TAX_ORDER_TARGET = Decimal("2000000.00")
#: The local contribution (tax paid locally) the shop declares for the tax year.
LOCAL_CONTRIBUTION = "420000.00"
#: Not a designated carrier of the logistics subsidy: the December run accrues none.
TAX_YEAR_CARRIER = ("中通快递", "ZTO")


def _tax_year_sales(merchant: Merchant, december: Period) -> Decimal:
    """Large orders of the shop's dearest SKU completed early in December (settled in it by
    its T+15): stock received, placed, paid, shipped, delivered and received by the buyer, each
    step through the services at its moment. Returns the orders' base total."""
    sku = (
        SKU.objects.filter(
            merchant=merchant,
            is_active=True,
            product__published_at__isnull=False,
            product__withdrawn_at__isnull=True,
        )
        .order_by("-price", "code")
        .first()
    )
    warehouse = Warehouse.objects.filter(merchant=merchant, kind=WarehouseKind.MERCHANT, is_active=True).first()
    addresses = list(
        Address.objects.filter(buyer__email__in=ADDRESSES, is_default=True).select_related("buyer").order_by("pk")
    )
    if sku is None or warehouse is None or not addresses:
        return ZERO
    quantity = min(999, math.ceil(TAX_ORDER_TARGET / sku.price))
    if quantity * sku.price * 80 < TAX_YEAR_SALES:
        return ZERO  # a catalog this cheap would take too many orders: no tax rebate then
    total, n = ZERO, 0
    while total < TAX_YEAR_SALES:
        address = addresses[n % len(addresses)]
        # On the first ten days (all completed before the December cutoff of T+15), an hour
        # apart after the first ten orders.
        placed = _on(december, 1 + n % 10, 9 + n // 10)
        with clock(placed - datetime.timedelta(days=2)):
            # Received for this order only, so the SKU's stock ends where the catalog demo left it.
            catalog_services.stock_receive(
                merchant=merchant,
                sku=sku,
                warehouse=warehouse,
                quantity=quantity,
                actor=merchant.owner,
                reference=f"PO-{sku.code}-{december}-{n + 1}",
                reason="企业团购备货",
            )
        with clock(placed):
            order = order_services.checkout_place(
                buyer=address.buyer, address=address, items=[order_services.CheckoutItem(sku.pk, quantity)]
            )
        with clock(placed + datetime.timedelta(minutes=6)):
            _pay(order)
        merchant_order = order.merchant_orders.get()
        carrier, prefix = TAX_YEAR_CARRIER
        with clock(placed + datetime.timedelta(days=1, hours=4)):
            order_services.merchant_order_ship(
                order=merchant_order,
                merchant=merchant,
                actor=merchant.owner,
                carrier=carrier,
                tracking_number=f"{prefix}{december.first_day:%Y%m}{n + 1:06d}",
            )
        with clock(placed + datetime.timedelta(days=3, hours=2)):
            order_services.merchant_order_deliver(order=merchant_order)
        with clock(placed + datetime.timedelta(days=4, hours=11)):
            order_services.merchant_order_confirm_receipt(order=merchant_order, actor=address.buyer)
        merchant_order.refresh_from_db()
        total += merchant_order.base_total
        n += 1
    return total


def _tax_rebate(programme: SubsidyProgramme, *, operations) -> GrantApplication | None:
    """The tax rebate of the module docstring; None when the demo has no such shop (or no
    finance staff to settle its December)."""
    User = get_user_model()
    finance = User.objects.filter(email=FINANCE).first()
    admin = User.objects.filter(email=ADMIN).first()
    merchant = (
        Merchant.objects.filter(owner__email=TAX_REBATE_SHOP, status=MerchantStatus.LIVE)
        .select_related("owner")
        .first()
    )
    year = demo_tax_year()
    if finance is None or admin is None or merchant is None or merchant.live_since is None:
        return None
    if timezone.localtime(merchant.live_since).year != year:
        return None
    december = Period(year, 12)
    if not _tax_year_sales(merchant, december):
        return None
    _run(december, at=_on(december.next, 1, 2), actor=finance)
    _approve_and_pay(december, finance=finance, admin=admin)
    first, _second = demo_periods()
    with clock(_on(first, 4, 10)):
        application = subsidies.grant_apply(
            merchant=merchant,
            programme=programme,
            actor=merchant.owner,
            project=f"{year} 年度地方税收返还",
            invoiced_amount=LOCAL_CONTRIBUTION,
            tax_year=year,
            documents=[_invoice(f"tax-payment-{year}.pdf")],
        )
    with clock(_on(first, 10, 15)):
        return subsidies.grant_approve(application=application, actor=operations)


def seed_subsidies(stdout) -> int:
    """Seed the programmes and the demo applications; returns how many rows were created."""
    if SubsidyProgramme.objects.exists():
        return 0
    operations = get_user_model().objects.filter(email=OPERATIONS).first()
    merchants = list(Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS]).order_by("pk"))
    first, second = demo_periods()
    programmes = subsidies.programme_defaults_seed(valid_from=datetime.date(first.year - 1, 1, 1), actor=operations)
    created = len(programmes)
    if operations is None or not merchants:
        return created
    by_code = {p.code: p for p in programmes}
    day = local_midnight(second.first_day)
    applications = [
        (merchants[0], "fit-out", "杭州旗舰店门头与陈列改造", {"invoiced_amount": "186500.00"}, "approve"),
        (merchants[1 % len(merchants)], "training", "冷链操作员持证培训", {"invoiced_amount": "12800.00"}, "refuse"),
        (merchants[2 % len(merchants)], "fit-out", "华东仓拣货区改造", {"invoiced_amount": "92000.00"}, None),
    ]
    for n, (merchant, code, project, amounts, decision) in enumerate(applications):
        with clock(day + datetime.timedelta(days=5 + n, hours=10)):
            application = subsidies.grant_apply(
                merchant=merchant,
                programme=by_code[code],
                actor=merchant.owner,
                project=project,
                documents=[_invoice(f"invoice-{n + 1}.pdf")],
                **amounts,
            )
        created += 1
        with clock(day + datetime.timedelta(days=8 + n, hours=15)):
            if decision == "approve":
                subsidies.grant_approve(application=application, actor=operations)
            elif decision == "refuse":
                subsidies.grant_refuse(
                    application=application, actor=operations, reason="培训机构不在认证名单内，请补充认证证明后重新申请"
                )
    rebate = _tax_rebate(by_code["tax-rebate"], operations=operations)
    if rebate is not None:
        created += 1
        stdout.write(
            f"seed_demo: subsidies: tax rebate of {rebate.tax_year} for {rebate.merchant.shop_name}: "
            f"revenue {rebate.yearly_revenue}, {rebate.approved_amount} approved"
        )
    count = len(applications) + (rebate is not None)
    stdout.write(f"seed_demo: subsidies: {len(programmes)} programmes, {count} grant applications")
    return created
