"""The world the access matrix (tests/test_access_matrix.py) requests every route in.

One owner merchant (a live shop) with a member of every role, another live merchant, two
buyers with orders, and platform staff in each group plus a superuser. Every object a URL
names belongs to the owner merchant or to the first buyer, so the same URL is requested by
every identity. Built once per module through the real services.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import ProductImage, Stock
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.models import Merchant, MerchantDocument, MerchantMember
from notifications.services import notify
from orders import services as order_services
from orders.gateways import sandbox
from orders.models import AfterSalesPhoto, MerchantOrder, ShippingRate
from orders.services import CheckoutItem, RefundItem
from promotions import flash_redis
from promotions import services as promotion_services
from promotions.services import flash as flash_services
from settlements import services as settlement_services
from settlements.models import DryRun, Statement, SubscriptionPlan, ValueAddedService
from settlements.selectors import run_batch_ids
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.merchants.factories import png_upload
from tests.orders.factories import address_for
from tests.promotions.coupon_factories import coupon_promotion
from tests.promotions.pages_factories import platform_promotion, shop_promotion
from tests.settlements.charges_defaults import ensure_charge_defaults

SH = ZoneInfo("Asia/Shanghai")

ANON = "anonymous"
BUYER = "buyer"
BUYER2 = "other_buyer"
OWNER = "owner"
M_CATALOG = "member_catalog"
M_ORDERS = "member_orders"
M_FINANCE = "member_finance"
OTHER = "other_merchant"
REVIEWER = "reviewer"
OPERATIONS = "operations"
FINANCE = "finance"
SUPER = "superuser"

IDENTITIES = [ANON, BUYER, BUYER2, OWNER, M_CATALOG, M_ORDERS, M_FINANCE, OTHER, REVIEWER, OPERATIONS, FINANCE, SUPER]
MEMBERS = {OWNER: "owner", M_CATALOG: "catalog", M_ORDERS: "orders", M_FINANCE: "finance"}
STAFF_GROUPS = {REVIEWER: "reviewer", OPERATIONS: "operations", FINANCE: "finance"}


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@dataclass
class World:
    users: dict = field(default_factory=dict)  # identity → user (None for anonymous)
    kwargs: dict = field(default_factory=dict)  # URL kwarg name → value, for the owner's/buyer's objects
    objects: dict = field(default_factory=dict)  # named objects, for rows that need their own kwargs


def _pay(order) -> None:
    payment = order_services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    order_services.gateway_event_process(gateway="sandbox", event=event)


def build_world() -> World:
    world = World()
    users = world.users
    users[ANON] = None

    # --- The owner's live shop, its catalog and stock ---------------------------------------
    category = make_category("Lamps")
    merchant, _categories = live_merchant(categories=[category])
    Merchant.objects.filter(pk=merchant.pk).update(live_since=at(2026, 9, 10, 10, 0))
    merchant.refresh_from_db()
    users[OWNER] = merchant.owner
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("8.00"), free_over=None)
    merchant_services.merchant_update_shop(
        merchant=merchant, actor=merchant.owner, shop_name="Bright Home", description="Lamps", logo=png_upload("l.png")
    )
    merchant.refresh_from_db()
    wh = warehouse()
    item = product(merchant, category, skus=[{"code": "LAMP-1", "price": "199.99"}])
    sku = item.skus.get()
    catalog_services.stock_receive(sku=sku, warehouse=wh, quantity=1000, actor=merchant.owner, merchant=merchant)
    stock = Stock.objects.get(sku=sku, warehouse=wh)
    image = ProductImage.objects.filter(product=item).order_by("pk").first()
    for identity, role in MEMBERS.items():
        if role != "owner":
            user = UserFactory(email=f"{identity}@example.com")
            MerchantMember.objects.create(merchant=merchant, user=user, role=role)
            users[identity] = user
    member = MerchantMember.objects.get(user=users[M_CATALOG])
    invitation = merchant_services.invitation_create(
        merchant=merchant, actor=merchant.owner, email="invitee@example.com", role="orders"
    )
    document = merchant.documents.order_by("pk").first()

    other, _other_categories = live_merchant()
    users[OTHER] = other.owner

    # --- Buyers and their orders -------------------------------------------------------------
    buyer = users[BUYER] = UserFactory(email="buyer@example.com")
    buyer2 = users[BUYER2] = UserFactory(email="buyer2@example.com")
    address = address_for(buyer)
    address2 = address_for(buyer2)

    # A completed October order: settled in the October statement, its line reviewable.
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 5, 12)):
        done = order_services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(sku.pk, 1)])
        _pay(done)
        done_part = done.merchant_orders.get()
        order_services.merchant_order_ship(
            order=done_part, merchant=merchant, actor=merchant.owner, carrier="SF", tracking_number="1"
        )
        order_services.merchant_order_confirm_receipt(order=done_part, actor=buyer)
    MerchantOrder.objects.filter(pk=done_part.pk).update(completed_at=at(2026, 10, 12, 18))
    done_part.refresh_from_db()
    done_line = done_part.lines.get()
    review = order_services.review_create(
        order_line=done_line, buyer=buyer, rating=5, text="Bright", photos=[image_upload(color=(5, 5, 5))]
    )
    review_photo = review.photos.get()

    # A shipped order with an after-sales request (and its photo) rejected and escalated.
    shipped = order_services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(sku.pk, 2)])
    _pay(shipped)
    part = shipped.merchant_orders.get()
    order_services.merchant_order_ship(
        order=part, merchant=merchant, actor=merchant.owner, carrier="SF", tracking_number="2"
    )
    line = part.lines.get()
    after_sales = order_services.after_sales_request_create(
        order=part,
        buyer=buyer,
        kind="refund",
        reason="Scratched",
        items=[(line.pk, 1, Decimal("10.00"))],
        photos=[image_upload()],
    )
    order_services.after_sales_reject(
        request=after_sales, merchant=merchant, actor=merchant.owner, note="Not scratched"
    )
    order_services.after_sales_escalate(request=after_sales, buyer=buyer, statement="It is")
    photo = AfterSalesPhoto.objects.get(request=after_sales)
    order_services.complaint_create(order=part, buyer=buyer, category="service", text="Slow")

    # An unpaid order placed from the cart with a checkout key, its payment started.
    cart = order_services.cart_get_or_create(buyer=buyer)
    order_services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    key = "access-matrix-key-1"
    unpaid, _created = order_services.cart_checkout(
        buyer=buyer,
        key=key,
        fingerprint=order_services.request_fingerprint({"address": address.pk, "items": [[sku.pk, 1]]}),
        address=address,
        items=[CheckoutItem(sku.pk, 1)],
    )
    payment = order_services.payment_start(buyer_order=unpaid)
    order_services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)  # the cart keeps a line too

    # The other buyer's own order, from the same shop.
    order_services.checkout_place(buyer=buyer2, address=address2, items=[CheckoutItem(sku.pk, 1)])

    # --- October's settlement: statement approved, invoiced, in a payout batch --------------
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 1, 1)):
        run = settlement_services.run_start(period="2026-10", enqueue=False)
        for batch_id in run_batch_ids(run):
            settlement_services.settle_batch(batch_id=batch_id)
    staff_actor = UserFactory(email="settler@example.com", is_staff=True)
    statement = Statement.objects.get(merchant=merchant, period="2026-10")
    settlement_services.statement_approve(statement=statement, actor=staff_actor)
    settlement_services.invoice_issue(statement=statement, actor=staff_actor)
    batch = settlement_services.payout_batch_create(actor=staff_actor, statement_ids=[statement.pk])
    # A goodwill refund on the completed order, after its settlement.
    order_services.refund_issue(
        merchant_order=done_part, items=[RefundItem(done_line.pk, Decimal("1.00"))], reason="Goodwill"
    )

    # An open penalty of the owner's merchant with one evidence file (issue #14).
    ensure_charge_defaults()
    penalty = settlement_services.penalty_raise(
        merchant=merchant,
        kind="fake_shipment",
        amount="500.00",
        reason="No carrier scan",
        actor=staff_actor,
        evidence=[png_upload("evidence.png")],
    )
    penalty_file = penalty.files.get()

    # A pending revision of the published product (for the revision admin).
    catalog_services.product_update(product=item, actor=merchant.owner, title="Desk lamp, brighter")

    # A claimable coupon promotion of the shop, and the buyer's coupon of it.
    coupon_promo = coupon_promotion(merchant=merchant, created_by=staff_actor, max_uses=100)
    coupon = promotion_services.coupon_claim(promotion=coupon_promo, buyer=buyer)
    # A flash sale of the owner's SKU, on now, one unit held by the other buyer.
    flash_sale = flash_services.flash_sale_create(
        merchant=merchant,
        actor=merchant.owner,
        sku=sku,
        special_price=Decimal("99.00"),
        quantity=5,
        per_buyer_limit=1,
        starts_at=timezone.now() - datetime.timedelta(minutes=30),
        ends_at=timezone.now() + datetime.timedelta(hours=6),
        now=timezone.now() - datetime.timedelta(hours=1),
    )
    flash_redis.forget(flash_sale.pk)  # a state left in Redis by an earlier run under the same id
    flash_services.flash_sale_admit(sale_id=flash_sale.pk, buyer_id=buyer2.pk)
    # --- A group buy of the shop's SKU, with a group the second buyer opened ----------------
    campaign = promotion_services.group_buy_create(
        merchant=merchant,
        actor=merchant.owner,
        sku_id=sku.pk,
        name="Lamp for friends",
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() + datetime.timedelta(days=7),
        steps=[(2, "10"), (5, "20")],
    )
    participant, _group_order = order_services.group_buy_join(buyer=buyer2, address=address2, campaign_id=campaign.pk)

    # --- Platform staff ------------------------------------------------------------------
    for identity, group in STAFF_GROUPS.items():
        user = UserFactory(email=f"{identity}@example.com", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        users[identity] = user
    users[SUPER] = UserFactory(email="superuser@example.com", is_staff=True, is_superuser=True)

    # --- The owner merchant's changes after approval (issue #15) ----------------------------
    # A new bank account waiting for finance, a renewal of its expiring licence waiting for a
    # reviewer, and a contract amendment waiting for the owner.
    bank_change = merchant_services.bank_change_request(
        merchant=merchant,
        actor=merchant.owner,
        bank_account_name="Bright Home Ltd",
        bank_name="CMB Hangzhou",
        bank_account_number="6214830012345678",
    )
    MerchantDocument.objects.filter(pk=document.pk).update(expires_on=timezone.localdate() + datetime.timedelta(days=5))
    renewal = merchant_services.document_renew(
        merchant=merchant,
        actor=merchant.owner,
        document=MerchantDocument.objects.get(pk=document.pk),
        uploaded=png_upload("renewal.png"),
        expires_on=timezone.localdate() + datetime.timedelta(days=365),
    )
    amendment = merchant_services.amendment_propose(
        contract=merchant_selectors.current_contract(merchant),
        actor=users[OPERATIONS],
        reason="Faster settlement",
        settlement_days=7,
    )

    world.kwargs.update(
        {
            # Storefront and buyer pages
            "slug": merchant.slug,
            "product_id": item.pk,
            "image_id": image.pk,
            "number": shipped.number,
            "part": part.number,
            "request_id": after_sales.pk,
            "line_id": done_line.pk,
            "address_id": address.pk,
            "photo_id": photo.pk,
            "key": key,
            "reference": payment.reference,
            # Portal
            "step": "company",
            "document_id": document.pk,
            "member_id": member.pk,
            "invitation_id": invitation.pk,
            "token": invitation.token,
            "sku_id": sku.pk,
            "stock_id": stock.pk,
            "sale_id": flash_sale.pk,
            "order_id": part.pk,
            "statement_id": statement.pk,
            "penalty_id": penalty.pk,
            "file_id": penalty_file.pk,
            "campaign_id": campaign.pk,
            "group_id": participant.group_id,
            "amendment_id": amendment.pk,
            # API
            "doc_id": document.pk,
        }
    )
    world.objects.update(
        {
            "merchant": merchant,
            "other_merchant": other,
            "category": category,
            "product": item,
            "image": image,
            "sku": sku,
            "stock": stock,
            "flash_sale": flash_sale,
            "warehouse": wh,
            "shipped": shipped,
            "part": part,
            "done": done,
            "done_part": done_part,
            "done_line": done_line,
            "unpaid": unpaid,
            "payment": payment,
            "after_sales": after_sales,
            "photo": photo,
            "review": review,
            "review_photo": review_photo,
            "document": document,
            "invitation": invitation,
            "statement": statement,
            "penalty": penalty,
            "penalty_file": penalty_file,
            "campaign": campaign,
            "group": participant.group,
            "run": run,
            "batch": batch,
            "address": address,
            "user_ct": ContentType.objects.get_for_model(buyer),
            "coupon_promotion": coupon_promo,
            "coupon": coupon,
            "bank_change": bank_change,
            "renewal": renewal,
            "amendment": amendment,
        }
    )
    # Promotions, after the orders (which they would otherwise discount): the owner's live one,
    # and a platform promotion in draft (the admin's record: editable, activable).
    promotion = shop_promotion(merchant, live=True)
    world.kwargs["promotion_id"] = promotion.pk
    world.objects["promotion"] = promotion
    world.objects["platform_promotion"] = platform_promotion()
    # A grant application of the owner's merchant with its invoice (issue #14).
    grant = subsidy_grant(merchant)
    world.kwargs["application_id"] = grant.pk
    world.kwargs["grant_document_id"] = grant.documents.get().pk
    world.objects["grant"] = grant
    # The owner's subscription and an offered value-added service (the merchant fees API).
    world.objects["subscription"] = settlement_services.subscription_start(
        merchant=merchant, plan=SubscriptionPlan.objects.get(code="gold"), cycle="monthly", actor=merchant.owner
    )
    world.objects["value_added_service"] = ValueAddedService.objects.filter(active=True).order_by("pk").first()
    # A notification of the buyer (issue #16): only the buyer reads or marks it.
    (notification,) = notify(
        user_ids=[users[BUYER].pk], kind="order_shipped", params={"order": "M1", "carrier": "SF", "tracking": "SF1"}
    )
    world.kwargs["notification_id"] = notification.pk
    world.objects["notification"] = notification
    # A completed dry run of October (issue #16): its page, status and CSV.
    dry_run = DryRun.objects.create(period="2026-10", state="completed", merchants_total=0)
    world.kwargs["dry_run_id"] = dry_run.pk
    world.objects["dry_run"] = dry_run
    return world


def admin_fillers(world: World) -> dict:
    """Makers of one record for the models the world leaves empty, by model label."""
    from django.utils import timezone
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from rest_framework.authtoken.models import Token, TokenProxy

    from catalog.models import StockAlert, Tag, TopBrand
    from marketplace.models import JobFailure
    from merchants.models import PublicHoliday
    from promotions.models import Membership, MembershipChange, MembershipLevel, RfmScore
    from risk.models import RatingWeights, RequalificationReview

    objects = world.objects
    staff = UserFactory(email="filler@example.com", is_staff=True)

    def base_level():
        # The migration makes it; a transactional test earlier in the session may have flushed it.
        return MembershipLevel.objects.get_or_create(threshold=0, defaults={"code": "regular", "name": "Regular"})[0]

    def interval():
        return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)

    def axes(model_name):
        def make():
            from axes import models as axes_models

            model = getattr(axes_models, model_name)
            fields = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "buyer@example.com"}
            if model_name == "AccessAttempt":
                fields.update(get_data="", post_data="", failures_since_start=1)
            if model_name == "AccessLog":
                fields.update(attempt_time=timezone.now())
            if model_name == "AccessFailureLog":
                fields.update(attempt_time=timezone.now(), locked_out=False)
            return model.objects.create(**fields)

        return make

    return {
        "auth.group": lambda: Group.objects.order_by("pk").first(),
        "authtoken.tokenproxy": lambda: TokenProxy.objects.get(key=Token.objects.create(user=world.users[BUYER2]).key),
        "django_celery_beat.intervalschedule": interval,
        "django_celery_beat.periodictask": lambda: PeriodicTask.objects.create(
            name="access-matrix", task="marketplace.tasks.noop", interval=interval()
        ),
        "django_celery_beat.clockedschedule": lambda: ClockedSchedule.objects.create(clocked_time=timezone.now()),
        "django_celery_beat.crontabschedule": lambda: CrontabSchedule.objects.create(minute="5"),
        "django_celery_beat.solarschedule": lambda: SolarSchedule.objects.create(
            event="sunrise", latitude=Decimal("31.23"), longitude=Decimal("121.47")
        ),
        "axes.accessattempt": axes("AccessAttempt"),
        "axes.accesslog": axes("AccessLog"),
        "axes.accessfailurelog": axes("AccessFailureLog"),
        "merchants.publicholiday": lambda: PublicHoliday.objects.create(
            date=datetime.date(2027, 1, 1), name="New Year"
        ),
        "catalog.tag": lambda: Tag.objects.create(name="Warm light", slug="warm-light"),
        "catalog.topbrand": lambda: TopBrand.objects.create(category=objects["category"], name="Midea", rank=1),
        "catalog.categoryratechange": lambda: (
            catalog_services.category_set_rate(category=objects["category"], rate=Decimal("0.0800"), actor=staff),
            objects["category"].rate_changes.order_by("pk").first(),
        )[1],
        "catalog.stockalert": lambda: StockAlert.objects.create(
            stock=objects["stock"], merchant=objects["merchant"], available_at_open=1, reorder_point=5
        ),
        "marketplace.jobfailure": lambda: JobFailure.objects.create(
            job="orders.cancel_expired_unpaid",
            object_type="orders.buyerorder",
            object_id="1",
            code="release_exceeds_reserved",
            first_seen=timezone.now(),
            last_seen=timezone.now(),
        ),
        "settlements.subscription": lambda: settlement_services.subscription_start(
            merchant=objects["other_merchant"],
            plan=SubscriptionPlan.objects.get(code="gold"),
            cycle="monthly",
            actor=objects["other_merchant"].owner,
        ),
        "settlements.feecharge": lambda: settlement_services.value_added_purchase(
            merchant=objects["other_merchant"],
            service=ValueAddedService.objects.order_by("pk").first(),
            actor=objects["other_merchant"].owner,
            reference="access-matrix",
        ),
        "settlements.subsidyaccrual": lambda: subsidy_accrual(objects),
        "settlements.manualadjustment": lambda: settlement_services.adjustment_create(
            merchant=objects["merchant"], period="2026-12", amount="10.00", reason="Goodwill", actor=staff
        ),
        "promotions.membership": lambda: Membership.objects.create(
            buyer=world.users[BUYER2], level=base_level(), spend_12m=Decimal("0.00"), computed_at=timezone.now()
        ),
        "promotions.membershipchange": lambda: MembershipChange.objects.create(
            buyer=world.users[BUYER2],
            to_level=base_level(),
            to_name=base_level().name,
            spend_12m=Decimal("0.00"),
            changed_at=timezone.now(),
        ),
        # Risk alerts and payout holds (issue #15): an open alert, a kind's rule, an open hold.
        "risk.riskalert": lambda: risk_alert(objects["merchant"]),
        "risk.alertrule": lambda: alert_rule(),
        "settlements.payouthold": lambda: payout_hold(objects["other_merchant"]),
        "promotions.rfmscore": lambda: RfmScore.objects.create(
            buyer=world.users[BUYER2],
            recency_days=3,
            frequency=1,
            monetary=Decimal("99.00"),
            computed_at=timezone.now(),
        ),
        # Merchant quality (issue #15): an open requalification review and a pending renewal.
        "risk.ratingweights": lambda: RatingWeights.objects.get_or_create(pk=1)[0],
        "risk.creditrating": lambda: quality_rating(objects["merchant"]),
        "risk.quarterlyevaluation": lambda: quality_evaluation(objects["merchant"], "2026Q2", "95.00"),
        "risk.requalificationreview": lambda: RequalificationReview.objects.create(
            evaluation=quality_evaluation(objects["merchant"], "2026Q3", "70.00"), merchant=objects["merchant"]
        ),
        "risk.renewalcase": lambda: quality_renewal(objects["merchant"]),
    }


def quality_rating(merchant):
    from django.utils import timezone

    from risk.models import CreditRating

    now = timezone.now()
    return CreditRating.objects.create(
        merchant=merchant,
        rated_on=datetime.date(2026, 11, 1),
        window_start=now - datetime.timedelta(days=90),
        window_end=now,
        orders=0,
        shipments_due=0,
        shipped_on_time=0,
        returned=0,
        complained=0,
        reviews=0,
        on_time_rate=Decimal("100.00"),
        return_rate=Decimal("0.00"),
        complaint_rate=Decimal("0.00"),
        grade="B",
        previous_grade="B",
    )


def quality_evaluation(merchant, quarter: str, score: str):
    from risk.models import QuarterlyEvaluation

    return QuarterlyEvaluation.objects.create(
        merchant=merchant,
        quarter=quarter,
        period_start=datetime.date(2026, 7, 1),
        period_end=datetime.date(2026, 10, 1),
        orders=1,
        shipments_due=1,
        shipped_on_time=1,
        quality_passed=1,
        on_time_rate=Decimal("100.00"),
        quality_pass_rate=Decimal("100.00"),
        score=Decimal(score),
    )


def quality_renewal(merchant):
    from merchants.selectors import current_contract
    from risk.models import RenewalCase

    contract = current_contract(merchant)
    return RenewalCase.objects.create(
        merchant=merchant,
        contract=contract,
        contract_end_date=contract.end_date,
        gmv_current=Decimal("100.00"),
        gmv_previous=Decimal("100.00"),
        gmv_growth=Decimal("0.00"),
        satisfaction=Decimal("4.00"),
        grade="B",
    )


def membership_level_above_base():
    """A membership level that may be deleted (not the base at ¥0), the base kept beside it."""
    from promotions.models import MembershipLevel

    MembershipLevel.objects.get_or_create(threshold=0, defaults={"code": "regular", "name": "Regular"})
    above = MembershipLevel.objects.exclude(threshold=0).order_by("pk").first()
    return above or MembershipLevel.objects.create(code="silver", name="Silver", threshold=Decimal("1000.00"))


def subsidy_grant(merchant):
    """A fit-out programme and the merchant's application to it, with one PDF invoice."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from settlements.choices import ProgrammeKind
    from settlements.models import SubsidyProgramme
    from settlements.services import subsidies
    from tests.merchants.factories import PDF_BYTES

    programme = subsidies.programme_save(
        programme=SubsidyProgramme(
            code="fit-out",
            name="Fit-out",
            kind=ProgrammeKind.FIT_OUT,
            rules={"rate": "0.20", "max_amount": "1000000.00"},
            valid_from=datetime.date(2026, 1, 1),
        ),
        actor=None,
    )
    return subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Shop fit-out",
        invoiced_amount="1000.00",
        documents=[SimpleUploadedFile("invoice.pdf", PDF_BYTES)],
    )


def subsidy_accrual(objects):
    """A logistics accrual of the world's statement (the run writes them; the admin lists them)."""
    from settlements.choices import ProgrammeKind
    from settlements.models import SubsidyAccrual, SubsidyProgramme

    programme = SubsidyProgramme.objects.create(
        code="logistics",
        name="Logistics",
        kind=ProgrammeKind.LOGISTICS,
        rules={"carriers": ["SF"], "per_order": "0.50", "per_order_special": "1.00"},
        valid_from=datetime.date(2026, 1, 1),
        merchant_year_cap=Decimal("500000.00"),
    )
    statement = objects["statement"]
    return SubsidyAccrual.objects.create(
        programme=programme,
        merchant=statement.merchant,
        merchant_order=objects["done_part"],
        year=2026,
        completed_at=timezone.now(),
        due=Decimal("0.50"),
        amount=Decimal("0.50"),
        statement=statement,
    )


def risk_alert(merchant):
    from django.utils import timezone

    from risk.models import RiskAlert

    return RiskAlert.objects.create(
        kind="complaint_rate",
        merchant=merchant,
        severity="high",
        condition_key=f"complaint_rate:m:{merchant.pk}",
        figures={"orders": 20, "complaints": 2},
        raised_at=timezone.now(),
    )


def alert_rule():
    from risk.models import AlertRule

    return AlertRule.objects.create(kind="slow_stock")


def payout_hold(merchant):
    from django.utils import timezone

    from settlements.services import payout_hold_place

    return payout_hold_place(
        merchant_id=merchant.pk, cause="bank_account_changed", caused_at=timezone.now(), reason="Changed"
    )[0]
