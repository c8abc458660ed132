"""Service fees: billed once per cycle (technical service fee with its relief, franchise fee,
subscriptions), value-added services bought or recorded, deducted in the statement, invoiced."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from marketplace.errors import ConflictError, DomainError
from merchants.models import Contract, Merchant
from settlements import services
from settlements.models import FeeCharge, JournalEntry, Statement, Subscription, SubscriptionPlan, ValueAddedService
from settlements.services.fees import current_cycle
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.settlements.charges_defaults import ensure_charge_defaults
from tests.settlements.test_runs import Shop, _lines, _settle, at

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def _defaults():
    ensure_charge_defaults()


def charges(merchant):
    return list(
        FeeCharge.objects.filter(merchant=merchant)
        .order_by("billed_on", "id")
        .values_list("kind", "key", "billed_on", "gross", "relief", "amount")
    )


def live_since(merchant, day):
    Merchant.objects.filter(pk=merchant.pk).update(live_since=at(day.year, day.month, day.day, 10))
    merchant.refresh_from_db()


def test_cycles_follow_the_start_day_and_month_ends():
    assert current_cycle(D(2026, 9, 10), D(2026, 9, 10), 12) == (1, D(2026, 9, 10))
    assert current_cycle(D(2026, 9, 10), D(2027, 9, 9), 12) == (1, D(2026, 9, 10))
    assert current_cycle(D(2026, 9, 10), D(2027, 9, 10), 12) == (2, D(2027, 9, 10))
    assert current_cycle(D(2026, 1, 31), D(2026, 2, 28), 1) == (2, D(2026, 2, 28))
    assert current_cycle(D(2026, 1, 31), D(2026, 3, 30), 1) == (2, D(2026, 2, 28))
    assert current_cycle(D(2026, 1, 31), D(2026, 3, 31), 1) == (3, D(2026, 3, 31))


def test_technical_service_fee_first_year_waived_then_two_years_at_half_then_full():
    merchant, _c = live_merchant()
    live_since(merchant, D(2026, 9, 10))
    yearly = merchant.tier.technical_service_fee.yearly_amount
    assert (
        yearly
        == {"core": Decimal("6000.00"), "potential": Decimal("3000.00"), "strategic": Decimal("12000.00")}[
            merchant.tier.code
        ]
    )
    for day in [D(2026, 10, 1), D(2027, 9, 10), D(2028, 12, 1), D(2029, 9, 10)]:
        assert services.fees_bill_due(today=day) == 1
        assert services.fees_bill_due(today=day) == 0  # a rerun bills nothing twice
    half = yearly / 2
    assert charges(merchant) == [
        ("technical_service", "2026-09-10", D(2026, 10, 1), yearly, yearly, Decimal("0.00")),
        ("technical_service", "2027-09-10", D(2027, 9, 10), yearly, half, half),
        ("technical_service", "2028-09-10", D(2028, 12, 1), yearly, half, half),
        ("technical_service", "2029-09-10", D(2029, 9, 10), yearly, Decimal("0.00"), yearly),
    ]


def test_franchise_fee_is_billed_each_contract_year():
    merchant, _c = live_merchant()
    live_since(merchant, D(2026, 10, 1))
    contract = Contract.objects.get(merchant=merchant, status="accepted")
    Contract.objects.filter(pk=contract.pk).update(
        cooperation_mode="franchise",
        franchise_fee=Decimal("30000.00"),
        start_date=D(2026, 10, 1),
        end_date=D(2028, 9, 30),
    )
    services.fees_bill_due(today=D(2026, 10, 2))
    services.fees_bill_due(today=D(2027, 10, 1))
    services.fees_bill_due(today=D(2028, 10, 1))  # the contract has ended
    franchise = [c for c in charges(merchant) if c[0] == "franchise"]
    assert franchise == [
        (
            "franchise",
            f"{contract.number}:2026-10-01",
            D(2026, 10, 2),
            Decimal("30000.00"),
            Decimal("0"),
            Decimal("30000.00"),
        ),
        (
            "franchise",
            f"{contract.number}:2027-10-01",
            D(2027, 10, 1),
            Decimal("30000.00"),
            Decimal("0"),
            Decimal("30000.00"),
        ),
    ]


def test_a_subscription_is_billed_at_once_then_each_cycle_until_it_ends():
    merchant, _c = live_merchant()
    gold = SubscriptionPlan.objects.get(code="gold")
    assert gold.benefit_list == ["物流费用折扣", "专属客服", "流量扶持"]
    subscription = services.subscription_start(
        merchant=merchant, plan=gold, cycle="monthly", actor=merchant.owner, today=D(2026, 10, 5)
    )
    with pytest.raises(ConflictError) as twice:
        services.subscription_start(
            merchant=merchant,
            plan=SubscriptionPlan.objects.get(code="platinum"),
            cycle="yearly",
            actor=merchant.owner,
            today=D(2026, 10, 6),
        )
    assert twice.value.code == "already_subscribed"
    services.fees_bill_due(today=D(2026, 10, 20))
    services.fees_bill_due(today=D(2026, 11, 5))
    services.subscription_end(subscription=subscription, merchant=merchant, actor=merchant.owner, today=D(2026, 11, 20))
    services.fees_bill_due(today=D(2026, 12, 5))
    subs = [c for c in charges(merchant) if c[0] == "subscription"]
    assert subs == [
        (
            "subscription",
            f"{subscription.pk}:2026-10-05",
            D(2026, 10, 5),
            Decimal("299.00"),
            Decimal("0"),
            Decimal("299.00"),
        ),
        (
            "subscription",
            f"{subscription.pk}:2026-11-05",
            D(2026, 11, 5),
            Decimal("299.00"),
            Decimal("0"),
            Decimal("299.00"),
        ),
    ]
    assert Subscription.objects.filter(merchant=merchant).count() == 1


def test_another_merchant_cannot_end_a_subscription():
    merchant, _c = live_merchant()
    other, _c = live_merchant()
    subscription = services.subscription_start(
        merchant=merchant, plan=SubscriptionPlan.objects.get(code="gold"), cycle="yearly", actor=merchant.owner
    )
    with pytest.raises(DomainError) as refused:
        services.subscription_end(subscription=subscription, merchant=other, actor=other.owner)
    assert refused.value.code == "not_found"
    subscription.refresh_from_db()
    assert subscription.ended_on is None


def test_a_resubmitted_purchase_bills_once_and_staff_references_are_unique():
    merchant, _c = live_merchant()
    slot = ValueAddedService.objects.get(kind="homepage_slot")
    first = services.value_added_purchase(merchant=merchant, service=slot, actor=merchant.owner, reference="tok-1")
    again = services.value_added_purchase(merchant=merchant, service=slot, actor=merchant.owner, reference="tok-1")
    assert (first.pk, first.amount) == (again.pk, Decimal("2000.00"))
    recorded = services.fee_charge_record(
        merchant=merchant,
        kind="keyword_bidding",
        amount="450.00",
        description="Keywords “desk lamp”, October",
        reference="KW-2026-10",
        actor=UserFactory(is_staff=True),
    )
    assert recorded.amount == Decimal("450.00")
    with pytest.raises(ConflictError) as reused:
        services.fee_charge_record(
            merchant=merchant,
            kind="keyword_bidding",
            amount="1.00",
            description="Again",
            reference="KW-2026-10",
            actor=UserFactory(is_staff=True),
        )
    assert reused.value.code == "reference_reused"
    for kwargs, code in [
        ({"kind": "franchise"}, "invalid_fee_kind"),
        ({"amount": "-1"}, "invalid_amount"),
        ({"description": ""}, "description_required"),
        ({"reference": " "}, "reference_required"),
    ]:
        args = {
            "merchant": merchant,
            "kind": "homepage_slot",
            "amount": "10.00",
            "description": "Slot",
            "reference": "R-9",
            "actor": UserFactory(is_staff=True),
            **kwargs,
        }
        with pytest.raises(DomainError) as refused:
            services.fee_charge_record(**args)
        assert refused.value.code == code
    assert FeeCharge.objects.filter(merchant=merchant).count() == 2


def test_fees_are_deducted_in_the_statement_once_invoiced_and_posted():
    shop = Shop()
    live_since(shop.merchant, D(2026, 9, 10))
    shop.completed_order([("199.99", 2), ("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    gold = SubscriptionPlan.objects.get(code="gold")
    services.subscription_start(
        merchant=shop.merchant, plan=gold, cycle="monthly", actor=shop.merchant.owner, today=D(2026, 10, 5)
    )
    keyword = ValueAddedService.objects.get(kind="keyword_bidding")
    services.value_added_purchase(
        merchant=shop.merchant, service=keyword, actor=shop.merchant.owner, reference="t-1", today=D(2026, 10, 8)
    )
    services.fees_bill_due(today=D(2026, 10, 9))  # year 1 live: the technical fee is waived (amount 0)
    services.value_added_purchase(  # billed in November: next statement
        merchant=shop.merchant, service=keyword, actor=shop.merchant.owner, reference="t-2", today=D(2026, 11, 2)
    )

    _settle("2026-10", now=at(2026, 11, 3, 1))
    october = Statement.objects.get(period="2026-10")
    # Orders: goods 435.48 + shipping 8.00 − commission 21.78 (domain.md's example without the
    # platform discount); fees billed in October: gold 299.00 + keyword bidding 500.00 = 799.00
    # (the waived technical fee, 0.00, reaches no statement). Payable = 421.70 − 799.00 = −377.30.
    assert _lines(october) == {
        "goods": Decimal("435.48"),
        "platform_discounts": Decimal("0.00"),
        "shipping": Decimal("8.00"),
        "commission": Decimal("-21.78"),
        "service_fees": Decimal("-799.00"),
    }
    assert october.payable == Decimal("-377.30")
    assert october.lines.get(kind="service_fees").count == 2
    _settle("2026-10", now=at(2026, 11, 4, 1))
    assert _lines(Statement.objects.get(period="2026-10")) == _lines(october)

    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    # The November keyword purchase (500.00); the second gold cycle (5 Nov) was not billed
    # (no billing ran in November). Carry-forward −377.30. Payable = −877.30.
    assert _lines(november) == {"service_fees": Decimal("-500.00"), "carry_forward": Decimal("-377.30")}
    assert FeeCharge.objects.filter(merchant=shop.merchant, amount__gt=0, statement__isnull=True).count() == 0

    finance = UserFactory(is_staff=True)
    services.statement_approve(statement=october, actor=finance)
    invoice = services.invoice_issue(statement=october, actor=finance)
    assert (invoice.commission, invoice.service_fees, invoice.total) == (
        Decimal("21.78"),
        Decimal("799.00"),
        Decimal("820.78"),
    )
    postings = {
        p.account.kind: p.amount for p in JournalEntry.objects.get(key=f"statement:{october.pk}").postings.all()
    }
    assert postings["service_fee_revenue"] == Decimal("-799.00")
    services.statement_approve(statement=november, actor=finance)
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    # The two statements' entries, and the movements verify_ledger posts first: the shop's
    # deposit paid and the buyer's payment captured.
    assert out.getvalue().startswith("ok (4 entries, 2 approved statements)")
