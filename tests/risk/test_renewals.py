"""Yearly renewal (issue #15): the 15 % / 4.8 rule at its boundaries, automatic extension
by the contract's term, staff's queue and decisions, the end of a contract not renewed."""

import datetime
from decimal import Decimal

import pytest

from marketplace.errors import DomainError
from marketplace.models import AuditLogEntry
from merchants.models import Contract, Merchant
from risk import selectors, services
from risk.models import RenewalCase
from risk.services.renewals import renewal_qualifies
from tests.risk.quality_world import QualityShop, at, review

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 1, 12)
END = datetime.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("growth", "satisfaction", "renews"),
    [
        ("15.00", "4.80", True),
        ("14.99", "4.80", False),
        ("15.00", "4.79", False),
        ("40.00", "5.00", True),
        (None, "5.00", False),
        ("20.00", None, False),
    ],
)
def test_the_renewal_rule_at_its_boundaries(growth, satisfaction, renews):
    assert (
        renewal_qualifies(
            gmv_growth=Decimal(growth) if growth else None,
            satisfaction=Decimal(satisfaction) if satisfaction else None,
        )
        is renews
    )


def _shop(last_price: str, ratings=(5, 5, 5, 5, 4)):
    """Previous year's GMV ¥1,000.00; this year's 4 × ¥208 + the last order (price + ¥8
    shipping); reviews `ratings` this year. The contract ran 2025-12-01 → 2026-12-01."""
    shop = QualityShop()
    Merchant.objects.filter(pk=shop.merchant.pk).update(live_since=at(2024, 1, 1, 0))
    Contract.objects.filter(merchant=shop.merchant).update(
        status="accepted", start_date=datetime.date(2025, 12, 1), end_date=END
    )
    shop.paid_order(paid=NOW - datetime.timedelta(days=400), price="992.00")
    orders = [shop.paid_order(paid=NOW - datetime.timedelta(days=100 + i), price="200.00") for i in range(4)]
    orders.append(shop.paid_order(paid=NOW - datetime.timedelta(days=50), price=last_price))
    for order, rating in zip(orders, ratings, strict=True):
        review(order, rating, created=NOW - datetime.timedelta(days=10))
    return shop


def test_growth_15_and_satisfaction_4_8_renew_by_the_contracts_term():
    shop = _shop("310.00")  # 832 + 318 = 1,150.00: +15.00 %
    contract = Contract.objects.get(merchant=shop.merchant)
    assert services.renewal_evaluate(contract_id=contract.pk, now=NOW) is True
    case = RenewalCase.objects.get()
    assert (case.gmv_current, case.gmv_previous, case.gmv_growth, case.satisfaction) == (
        Decimal("1150.00"),
        Decimal("1000.00"),
        Decimal("15.00"),
        Decimal("4.80"),
    )
    assert (case.status, case.automatic, case.decided_by, case.new_end_date) == (
        "renewed",
        True,
        None,
        datetime.date(2027, 12, 1),
    )
    contract.refresh_from_db()
    assert contract.end_date == datetime.date(2027, 12, 1)
    entry = AuditLogEntry.objects.get(action="merchant.contract_extended")
    assert entry.data == {"contract": contract.number, "from": "2026-12-01", "to": "2027-12-01"}
    # Judged once per term: again → nothing (the new term is judged next year).
    assert services.renewal_evaluate(contract_id=contract.pk, now=NOW) is False
    assert RenewalCase.objects.filter(contract=contract).count() == 1


def test_growth_14_99_goes_to_staff():
    shop = _shop("309.90")  # 1,149.90: +14.99 %
    contract = Contract.objects.get(merchant=shop.merchant)
    run = services.renewals_evaluate_due(now=NOW)
    assert (run.done, run.failed) == (1, 0)
    case = RenewalCase.objects.get()
    assert (case.gmv_growth, case.satisfaction, case.status, case.new_end_date) == (
        Decimal("14.99"),
        Decimal("4.80"),
        "pending",
        None,
    )
    contract.refresh_from_db()
    assert contract.end_date == END
    assert list(selectors.renewal_queue()) == [case]


def test_satisfaction_below_4_8_goes_to_staff():
    shop = _shop("310.00", ratings=(5, 5, 5, 4, 4))  # 4.60
    services.renewal_evaluate(contract_id=Contract.objects.get(merchant=shop.merchant).pk, now=NOW)
    case = RenewalCase.objects.get()
    assert (case.gmv_growth, case.satisfaction, case.status) == (Decimal("15.00"), Decimal("4.60"), "pending")


def _pending():
    shop = _shop("309.90")
    services.renewal_evaluate(contract_id=Contract.objects.get(merchant=shop.merchant).pk, now=NOW)
    return shop, RenewalCase.objects.get()


def test_staff_renew_with_a_reason(staff_user):
    shop, case = _pending()
    decided = services.renewal_decide(case=case, actor=staff_user, renew=True, reason="Strategic brand")
    assert (decided.status, decided.automatic, decided.reason, decided.decided_by, decided.new_end_date) == (
        "renewed",
        False,
        "Strategic brand",
        staff_user,
        datetime.date(2027, 12, 1),
    )
    assert Contract.objects.get(merchant=shop.merchant).end_date == datetime.date(2027, 12, 1)
    assert AuditLogEntry.objects.filter(action="risk.renewal_decided", actor=staff_user).count() == 1


def test_a_decision_without_reason_or_twice_is_refused_and_changes_nothing(staff_user):
    shop, case = _pending()
    with pytest.raises(DomainError) as refused:
        services.renewal_decide(case=case, actor=staff_user, renew=True, reason="")
    assert refused.value.code == "reason_required"
    services.renewal_decide(case=case, actor=staff_user, renew=False, reason="Weak growth")
    with pytest.raises(DomainError) as twice:
        services.renewal_decide(case=case, actor=staff_user, renew=True, reason="Changed my mind")
    assert twice.value.code == "invalid_transition"
    case.refresh_from_db()
    assert (case.status, case.reason) == ("not_renewed", "Weak growth")
    assert Contract.objects.get(merchant=shop.merchant).end_date == END


def test_not_renewed_ends_the_contract_at_its_end_date(staff_user):
    shop, case = _pending()
    services.renewal_decide(case=case, actor=staff_user, renew=False, reason="Weak growth")
    on_end_date = services.renewals_end_due(today=END)
    assert on_end_date.done == 0
    shop.merchant.refresh_from_db()
    assert shop.merchant.status == "live"
    after = services.renewals_end_due(today=END + datetime.timedelta(days=1))
    assert after.done == 1
    shop.merchant.refresh_from_db()
    assert shop.merchant.status == "terminated"
    case.refresh_from_db()
    assert case.ended_at is not None
    again = services.renewals_end_due(today=END + datetime.timedelta(days=2))
    assert (again.done, again.failed) == (0, 0)
