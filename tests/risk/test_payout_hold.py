"""The payout hold (issue #15): a bank account changed within 7 days of a payout holds that
merchant's payouts (and only that merchant's) until finance release it; then the payout goes
in the next batch."""

import datetime

import pytest
from django.utils import timezone

from marketplace.errors import ConflictError, DomainError, InvalidTransition
from marketplace.models import AuditLogEntry
from merchants.models import Merchant
from merchants.signals import bank_account_changed
from risk.models import RiskAlert
from settlements import services as settlement_services
from settlements.models import PayoutHold, Statement
from tests.factories import UserFactory
from tests.settlements.test_payouts import _approved

pytestmark = pytest.mark.django_db


def _changed(merchant, when=None):
    bank_account_changed.send(sender=Merchant, merchant_id=merchant.pk, changed_at=when or timezone.now())


def test_a_change_with_money_owed_holds_that_merchants_payout_only_until_released():
    shops, _approver = _approved(count=2)
    held, other = shops[0].merchant, shops[1].merchant
    _changed(held)

    hold = PayoutHold.objects.get()
    assert (hold.merchant_id, hold.status, hold.cause) == (held.pk, "open", "bank_account_changed")
    alert = RiskAlert.objects.get(kind="payout_hold")
    assert (alert.merchant_id, alert.severity, alert.condition_key) == (held.pk, "high", f"payout_hold:h:{hold.pk}")
    assert alert.figures["statements_owed"] == 1 and alert.figures["payouts_in_last_days"] == 0

    payer = UserFactory(is_staff=True, email="payer@example.com")
    batch = settlement_services.payout_batch_create(actor=payer)
    assert [p.statement.merchant_id for p in batch.payouts.select_related("statement")] == [other.pk]
    # Held: nothing else to pay while the hold is open, and the statement stays approved and owed.
    with pytest.raises(ConflictError) as info:
        settlement_services.payout_batch_create(actor=payer)
    assert info.value.code == "nothing_to_pay"
    assert Statement.objects.get(merchant=held).status == "approved"

    finance = UserFactory(is_staff=True)
    with pytest.raises(DomainError) as info:
        settlement_services.payout_hold_release(hold=hold, actor=finance, note=" ")
    assert info.value.code == "note_required"
    assert PayoutHold.objects.get().status == "open"

    settlement_services.payout_hold_release(hold=hold, actor=finance, note="New account confirmed by phone")
    hold.refresh_from_db()
    assert (hold.status, hold.released_by, hold.release_note) == ("released", finance, "New account confirmed by phone")
    with pytest.raises(InvalidTransition):
        settlement_services.payout_hold_release(hold=hold, actor=finance, note="again")
    assert list(
        AuditLogEntry.objects.filter(object_id=str(hold.pk), action__startswith="settlements.payout_hold").values_list(
            "action", flat=True
        )
    ) == ["settlements.payout_hold_placed", "settlements.payout_hold_released"]

    nxt = settlement_services.payout_batch_create(actor=payer)
    assert [p.statement.merchant_id for p in nxt.payouts.select_related("statement")] == [held.pk]


def test_a_change_within_7_days_after_a_payout_holds_and_a_second_change_keeps_one_hold():
    shops, _approver = _approved(count=1)
    merchant = shops[0].merchant
    payer = UserFactory(is_staff=True, email="payer@example.com")
    batch = settlement_services.payout_batch_create(actor=payer)
    _changed(merchant, batch.created_at + datetime.timedelta(days=7))
    _changed(merchant, batch.created_at + datetime.timedelta(days=7))
    assert PayoutHold.objects.filter(merchant=merchant, status="open").count() == 1
    alert = RiskAlert.objects.get(kind="payout_hold")
    assert alert.figures["payouts_in_last_days"] == 1 and alert.figures["statements_owed"] == 0


def test_a_change_more_than_7_days_after_the_last_payout_with_nothing_owed_holds_nothing():
    shops, _approver = _approved(count=1)
    payer = UserFactory(is_staff=True, email="payer@example.com")
    batch = settlement_services.payout_batch_create(actor=payer)
    _changed(shops[0].merchant, batch.created_at + datetime.timedelta(days=7, seconds=1))
    assert PayoutHold.objects.count() == 0
    assert RiskAlert.objects.count() == 0


def test_a_merchant_that_was_never_paid_and_owes_nothing_is_not_held():
    shops, _approver = _approved(count=1)
    Statement.objects.filter(merchant=shops[0].merchant).update(status="paid")
    _changed(shops[0].merchant)
    assert PayoutHold.objects.count() == 0 and RiskAlert.objects.count() == 0
