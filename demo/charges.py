"""Demo penalties and service fees (issue #14), all in the second demo month, so that month's
statements (left to review) show each kind: before the settlements step runs.

- a fake-shipment penalty whose appeal window passes (deducted in the statement);
- a counterfeit penalty appealed by the merchant, the appeal rejected (deducted);
- a late-shipment penalty appealed, the appeal upheld (cancelled, never deducted);
- a breach-of-contract penalty finance takes from the deposit;
- the yearly technical service fee billed (the first year live: waived, shown with its relief),
  a gold subscription, a keyword-bidding purchase and a home-page slot recorded by operations.

Idempotent: when a penalty or a settlement run exists, the step creates nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction

from demo.catalog import SHOPS
from demo.orders import clock, demo_periods
from demo.settlements import FINANCE, _on
from merchants.models import Merchant
from settlements import services
from settlements.models import Penalty, SettlementRun, SubscriptionPlan, ValueAddedService

OPERATIONS = "ops@demo.local"
# A one-page PDF, enough for the evidence and appeal files (checked from its bytes).
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _pdf(name: str) -> ContentFile:
    return ContentFile(PDF, name=name)


def _penalties(month, merchants, *, ops, finance) -> int:
    first, second, third, fourth = (merchants[n % len(merchants)] for n in range(4))
    with clock(_on(month, 2, 9)):
        services.penalty_raise(
            merchant=first,
            kind="fake_shipment",
            amount="500.00",
            reason="运单号 SF1400288112 无揽收记录，买家投诉未收到货",
            actor=ops,
            evidence=[_pdf("物流轨迹截图.pdf")],
        )
    with clock(_on(month, 3, 9)):
        breach = services.penalty_raise(
            merchant=fourth,
            kind="breach_of_contract",
            amount="1000.00",
            reason="未按合同约定参加平台大促（合同第 7.2 条）",
            actor=ops,
        )
    with clock(_on(month, 4, 10)):
        counterfeit = services.penalty_raise(
            merchant=second,
            kind="counterfeit",
            amount="2000.00",
            reason="品牌方鉴定报告：商品为仿冒品",
            actor=ops,
            evidence=[_pdf("鉴定报告.pdf")],
        )
        late = services.penalty_raise(
            merchant=third, kind="late_shipment", amount=None, reason="订单超过 48 小时未发货", actor=ops
        )
    with clock(_on(month, 5, 15)):
        services.penalty_appeal(
            penalty=counterfeit,
            merchant=second,
            actor=second.owner,
            statement="商品为正品，附品牌授权书",
            files=[_pdf("品牌授权书.pdf")],
        )
        services.penalty_appeal(
            penalty=late, merchant=third, actor=third.owner, statement="快递公司揽收延误，附揽收证明"
        )
    with clock(_on(month, 6, 11)):
        services.penalty_decide(penalty=late, actor=ops, upheld=True, reason="揽收证明属实，撤销处罚")
    with clock(_on(month, 7, 11)):
        services.penalty_decide(penalty=counterfeit, actor=ops, upheld=False, reason="授权书不覆盖该型号，维持处罚")
    with clock(_on(month, 12, 10)):
        services.penalty_deduct_from_deposit(penalty=breach, actor=finance)
    return 4


def _fees(month, merchants, *, ops) -> int:
    first, second, third = (merchants[n % len(merchants)] for n in range(3))
    with clock(_on(month, 1, 1, 10)):
        created = services.fees_bill_due(today=month.first_day)
    with clock(_on(month, 2, 10)):
        services.subscription_start(
            merchant=first, plan=SubscriptionPlan.objects.get(code="gold"), cycle="monthly", actor=first.owner
        )
    with clock(_on(month, 8, 16)):
        services.value_added_purchase(
            merchant=second,
            service=ValueAddedService.objects.filter(kind="keyword_bidding").order_by("pk").first(),
            actor=second.owner,
            reference="demo-keyword-1",
        )
    with clock(_on(month, 9, 14)):
        services.fee_charge_record(
            merchant=third,
            kind="homepage_slot",
            amount="2000.00",
            description="首页推荐位（第 2 周）",
            reference=f"HP-{month}-02",
            actor=ops,
        )
    return created + 3


def seed_charges(stdout) -> int:
    """Penalties and service fees of the second demo month; returns how many were created."""
    User = get_user_model()
    ops = User.objects.filter(email=OPERATIONS).first()
    finance = User.objects.filter(email=FINANCE).first()
    if ops is None or finance is None or Penalty.objects.exists() or SettlementRun.objects.exists():
        return 0
    merchants = list(Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS], status="live").order_by("pk"))
    if not merchants:
        return 0
    _first, second = demo_periods()
    with transaction.atomic():
        created = _penalties(second, merchants, ops=ops, finance=finance) + _fees(second, merchants, ops=ops)
    stdout.write(f"seed_demo: charges: penalties and service fees in {second}")
    return created
