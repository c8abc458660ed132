"""Penalties: raised by staff (with evidence) or by the late-shipment rule, appealed within the
window, decided, deducted once (statement or deposit), in the ledger."""

import datetime
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction

from marketplace.errors import ConflictError, DomainError, NotFoundError
from merchants import selectors as merchant_selectors
from merchants.models import DepositEntry
from orders.models import MerchantOrder
from settlements import services
from settlements.models import JournalEntry, Penalty, PenaltyFile, PenaltyParameter, Statement
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import pdf_upload
from tests.settlements.charges_defaults import ensure_charge_defaults
from tests.settlements.test_runs import Shop, _lines, _settle, at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ensure_charge_defaults()


def staff():
    return UserFactory(is_staff=True)


def raise_penalty(merchant, *, amount="500.00", kind="fake_shipment", when=None, evidence=()):
    return services.penalty_raise(
        merchant=merchant,
        kind=kind,
        amount=amount,
        reason="Tracking number never scanned by the carrier",
        actor=staff(),
        evidence=evidence,
        now=when or at(2026, 10, 10, 9),
    )


def test_staff_raise_a_penalty_with_evidence_open_for_seven_days():
    merchant, _c = live_merchant()
    penalty = raise_penalty(merchant, evidence=[pdf_upload("waybill.pdf")])
    assert (penalty.status, penalty.amount, penalty.kind) == ("open", Decimal("500.00"), "fake_shipment")
    assert penalty.appeal_until == at(2026, 10, 17, 9)
    (evidence,) = penalty.files.all()
    assert (evidence.side, evidence.content_type, evidence.original_name) == (
        "evidence",
        "application/pdf",
        "waybill.pdf",
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": "0"}, "invalid_amount"),
        ({"amount": "abc"}, "invalid_amount"),
        ({"kind": "speeding"}, "invalid_penalty_kind"),
        ({"reason": "  "}, "reason_required"),
        ({"evidence": [SimpleUploadedFile("x.pdf", b"MZ not a pdf")]}, "file_type_not_allowed"),
    ],
)
def test_a_refused_penalty_writes_nothing(changes, code):
    merchant, _c = live_merchant()
    args = {
        "merchant": merchant,
        "kind": "counterfeit",
        "amount": "100.00",
        "reason": "Fake",
        "actor": staff(),
        "evidence": [pdf_upload()],
        **changes,
    }
    with pytest.raises(DomainError) as refused:
        services.penalty_raise(**args)
    assert refused.value.code == code
    assert (Penalty.objects.count(), PenaltyFile.objects.count()) == (0, 0)


def test_the_merchant_appeals_within_the_window_and_staff_uphold_it():
    merchant, _c = live_merchant()
    penalty = raise_penalty(merchant)
    appealed = services.penalty_appeal(
        penalty=penalty,
        merchant=merchant,
        actor=merchant.owner,
        statement="The parcel was collected on time; see the receipt.",
        files=[pdf_upload("receipt.pdf")],
        now=at(2026, 10, 16, 9),
    )
    assert (appealed.status, appealed.appealed_by, appealed.appealed_at) == (
        "appealed",
        merchant.owner,
        at(2026, 10, 16, 9),
    )
    assert list(appealed.files.values_list("side", flat=True)) == ["appeal"]
    officer = staff()
    decided = services.penalty_decide(
        penalty=appealed, actor=officer, upheld=True, reason="Receipt confirmed", now=at(2026, 10, 18, 9)
    )
    assert (decided.status, decided.decided_by, decided.decision_reason, decided.stands_since) == (
        "cancelled",
        officer,
        "Receipt confirmed",
        None,
    )


def test_an_appeal_after_the_window_or_by_another_merchant_changes_nothing():
    merchant, _c = live_merchant()
    other, _c = live_merchant()
    penalty = raise_penalty(merchant)
    with pytest.raises(ConflictError) as late:
        services.penalty_appeal(
            penalty=penalty, merchant=merchant, actor=merchant.owner, statement="Late", now=at(2026, 10, 17, 9)
        )
    assert late.value.code == "appeal_window_closed"
    with pytest.raises(NotFoundError):
        services.penalty_appeal(
            penalty=penalty, merchant=other, actor=other.owner, statement="Not mine", now=at(2026, 10, 11, 9)
        )
    penalty.refresh_from_db()
    assert (penalty.status, penalty.appeal_statement, penalty.files.count()) == ("open", "", 0)


def test_deciding_needs_an_appealed_penalty_and_a_reason():
    merchant, _c = live_merchant()
    penalty = raise_penalty(merchant)
    with pytest.raises(ConflictError) as refused:
        services.penalty_decide(penalty=penalty, actor=staff(), upheld=False, reason="No")
    assert refused.value.code == "invalid_transition"
    with pytest.raises(DomainError) as no_reason:
        services.penalty_decide(penalty=penalty, actor=staff(), upheld=False, reason="")
    assert no_reason.value.code == "reason_required"
    penalty.refresh_from_db()
    assert (penalty.status, penalty.decided_by) == ("open", None)


def test_late_shipment_rule_raises_one_penalty_per_late_order_whatever_its_reruns():
    shop = Shop()
    late = shop.completed_order([("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    on_time = shop.completed_order([("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    # Paid on the 5th at noon; promised within 48 hours: the first shipped 50 hours later.
    MerchantOrder.objects.filter(pk=late.pk).update(shipped_at=at(2026, 10, 7, 14))
    MerchantOrder.objects.filter(pk=on_time.pk).update(shipped_at=at(2026, 10, 7, 11))
    now = at(2026, 10, 8, 0)
    assert services.late_shipment_penalties_raise(now=now) == 1
    assert services.late_shipment_penalties_raise(now=now) == 0
    (penalty,) = Penalty.objects.all()
    assert (penalty.merchant, penalty.merchant_order_id, penalty.kind, penalty.amount, penalty.raised_by) == (
        shop.merchant,
        late.pk,
        "late_shipment",
        Decimal("50.00"),
        None,
    )
    # The rule runs in a task, in the platform's language (LANGUAGE_CODE zh-hans), which is the
    # one staff and merchants read the stored reason in.
    assert penalty.reason == f"订单 {late.number} 在付款后 50 小时才发货（承诺：48 小时）。"
    PenaltyParameter.objects.filter(kind="late_shipment").update(amount=Decimal("80.00"))
    assert services.late_shipment_penalties_raise(now=now) == 0
    assert Penalty.objects.get().amount == Decimal("50.00")


def test_standing_penalties_are_deducted_in_the_statement_once_and_the_ledger_balances():
    shop = Shop()
    shop.completed_order([("199.99", 2), ("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    lapsed = raise_penalty(shop.merchant, amount="500.00", when=at(2026, 10, 10, 9))  # window ends 10-17
    rejected = raise_penalty(shop.merchant, amount="120.50", kind="breach_of_contract", when=at(2026, 10, 20, 9))
    services.penalty_appeal(
        penalty=rejected, merchant=shop.merchant, actor=shop.merchant.owner, statement="No", now=at(2026, 10, 21, 9)
    )
    services.penalty_decide(penalty=rejected, actor=staff(), upheld=False, reason="Stands", now=at(2026, 10, 22, 9))
    upheld = raise_penalty(shop.merchant, amount="70.00", when=at(2026, 10, 20, 9))
    services.penalty_appeal(
        penalty=upheld, merchant=shop.merchant, actor=shop.merchant.owner, statement="Yes", now=at(2026, 10, 21, 9)
    )
    services.penalty_decide(penalty=upheld, actor=staff(), upheld=True, reason="Right", now=at(2026, 10, 22, 9))
    still_open = raise_penalty(shop.merchant, amount="30.00", when=at(2026, 10, 28, 9))  # window ends 11-04

    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(period="2026-10")
    # domain.md's worked example without the platform discount: goods 399.98 + 35.50 = 435.48,
    # shipping 8.00, commission 20.00 + 1.78 = 21.78 (5 %: launch policy); penalties that stood
    # before 1 November: 500.00 (window passed 17 Oct) + 120.50 (appeal rejected 22 Oct) = 620.50;
    # the upheld one (70.00) is cancelled and the open one (30.00) waits.
    # Payable = 435.48 + 8.00 − 21.78 − 620.50 = −198.80.
    assert _lines(october) == {
        "goods": Decimal("435.48"),
        "platform_discounts": Decimal("0.00"),
        "shipping": Decimal("8.00"),
        "commission": Decimal("-21.78"),
        "penalties": Decimal("-620.50"),
    }
    assert october.payable == Decimal("-198.80")
    assert october.lines.get(kind="penalties").count == 2
    for penalty, status, statement in [
        (lapsed, "deducted", october),
        (rejected, "deducted", october),
        (upheld, "cancelled", None),
        (still_open, "open", None),
    ]:
        penalty.refresh_from_db()
        assert (penalty.status, penalty.statement) == (status, statement)
    lapsed.refresh_from_db()
    assert (lapsed.stands_since, lapsed.settled_via) == (at(2026, 10, 17, 9), "statement")

    # A rerun changes nothing.
    _settle("2026-10", now=at(2026, 11, 2, 1))
    assert Statement.objects.count() == 1
    assert _lines(Statement.objects.get()) == _lines(october)

    # November: only the penalty whose window ended on 4 November; it is kept alone, with the
    # carry-forward: −198.80 − 30.00 = −228.80.
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    assert _lines(november) == {"penalties": Decimal("-30.00"), "carry_forward": Decimal("-198.80")}
    assert november.payable == Decimal("-228.80")

    approver = staff()
    services.statement_approve(statement=october, actor=approver)
    services.statement_approve(statement=november, actor=approver)
    postings = {
        p.account.kind: p.amount for p in JournalEntry.objects.get(key=f"statement:{october.pk}").postings.all()
    }
    assert postings["penalty_income"] == Decimal("-620.50")
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    # The two statements' entries, and the movements verify_ledger posts first: the shop's
    # deposit paid and the buyer's payment captured.
    assert out.getvalue().startswith("ok (4 entries, 2 approved statements)")


def test_a_merchant_with_only_a_penalty_gets_a_statement():
    merchant, _c = live_merchant()
    raise_penalty(merchant, amount="88.80", when=at(2026, 10, 1, 9))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = Statement.objects.get(merchant=merchant)
    assert (_lines(statement), statement.payable) == ({"penalties": Decimal("-88.80")}, Decimal("-88.80"))


def test_staff_deduct_a_standing_penalty_from_the_deposit_once():
    merchant, _c = live_merchant()
    balance = merchant_selectors.deposit_balance(merchant)
    penalty = raise_penalty(merchant, amount="500.00", when=at(2026, 10, 1, 9))
    finance = staff()
    deducted = services.penalty_deduct_from_deposit(penalty=penalty, actor=finance, now=at(2026, 10, 9, 9))
    assert (deducted.status, deducted.settled_via, deducted.deposit_reference, deducted.deducted_by) == (
        "deducted",
        "deposit",
        f"penalty-{penalty.pk}",
        finance,
    )
    assert merchant_selectors.deposit_balance(merchant) == balance - Decimal("500.00")
    # One entry for the money movement: the deposit's, its income penalty income.
    taken = DepositEntry.objects.get(merchant=merchant, kind="deducted", reference=f"penalty-{penalty.pk}")
    entry = JournalEntry.objects.get(key=f"deposit:{taken.pk}")
    assert not JournalEntry.objects.filter(key__startswith="penalty-").exists()
    assert sorted((p.account.kind, p.amount) for p in entry.postings.all()) == [
        ("deposits_held", Decimal("500.00")),
        ("penalty_income", Decimal("-500.00")),
    ]
    with pytest.raises(ConflictError) as again:
        services.penalty_deduct_from_deposit(penalty=penalty, actor=finance)
    assert again.value.code == "invalid_transition"
    assert DepositEntry.objects.filter(merchant=merchant, kind="deducted").count() == 1
    # Never deducted a second time by the statement.
    _settle("2026-10", now=at(2026, 11, 1, 1))
    assert not Statement.objects.filter(merchant=merchant).exists()


def test_deposit_deduction_refused_while_open_or_when_the_deposit_is_short_changes_nothing():
    merchant, _c = live_merchant()
    balance = merchant_selectors.deposit_balance(merchant)
    penalty = raise_penalty(merchant, amount="500.00", when=at(2026, 10, 1, 9))
    with pytest.raises(ConflictError) as open_:
        services.penalty_deduct_from_deposit(penalty=penalty, actor=staff(), now=at(2026, 10, 2, 9))
    assert open_.value.code == "invalid_transition"
    huge = raise_penalty(merchant, amount=str(balance + 1), when=at(2026, 10, 1, 9))
    with pytest.raises(ConflictError) as short:
        services.penalty_deduct_from_deposit(penalty=huge, actor=staff(), now=at(2026, 10, 9, 9))
    assert short.value.code == "insufficient_deposit"
    huge.refresh_from_db()
    penalty.refresh_from_db()
    assert (penalty.status, huge.status, huge.deposit_reference) == ("open", "open", "")
    assert merchant_selectors.deposit_balance(merchant) == balance
    assert not JournalEntry.objects.exists()


def test_lapse_makes_open_penalties_past_their_window_stand():
    merchant, _c = live_merchant()
    old = raise_penalty(merchant, when=at(2026, 10, 1, 9))
    new = raise_penalty(merchant, when=at(2026, 10, 5, 9))
    assert services.penalties_lapse(now=at(2026, 10, 9, 9)) == 1
    assert services.penalties_lapse(now=at(2026, 10, 9, 9)) == 0
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.stands_since, new.status) == ("stands", at(2026, 10, 8, 9), "open")


def test_penalty_window_setting(settings):
    settings.PENALTY_APPEAL_DAYS = 3
    merchant, _c = live_merchant()
    assert raise_penalty(merchant).appeal_until - at(2026, 10, 10, 9) == datetime.timedelta(days=3)


@pytest.mark.django_db(transaction=True)
def test_a_run_racing_a_deposit_deduction_deducts_the_penalty_once():
    """The deposit deduction holds the penalty's lock; the run's locking read waits for it, then
    re-reads the row and leaves the penalty the deduction took (no statement line, no second
    deduction)."""
    from tests.catalog.test_stock import _wait_for_a_lock_waiter

    merchant, _c = live_merchant()
    balance = merchant_selectors.deposit_balance(merchant)
    penalty = raise_penalty(merchant, amount="300.00", when=at(2026, 10, 1, 9))
    services.penalties_lapse(now=at(2026, 10, 9, 9))
    deducted, commit = threading.Event(), threading.Event()
    errors = []

    def deduct_and_hold():
        try:
            with transaction.atomic():
                services.penalty_deduct_from_deposit(penalty=penalty, actor=None, now=at(2026, 11, 1, 0, 30))
                deducted.set()
                commit.wait(timeout=30)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def run():
        try:
            _settle("2026-10", now=at(2026, 11, 1, 1))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=deduct_and_hold)
    first.start()
    assert deducted.wait(timeout=10)
    second = threading.Thread(target=run)
    second.start()
    try:
        _wait_for_a_lock_waiter()
    finally:
        commit.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert errors == []
    penalty.refresh_from_db()
    assert (penalty.status, penalty.settled_via, penalty.statement_id) == ("deducted", "deposit", None)
    assert merchant_selectors.deposit_balance(merchant) == balance - Decimal("300.00")
    assert not Statement.objects.filter(merchant=merchant).exists()
    assert DepositEntry.objects.filter(merchant=merchant, kind="deducted").count() == 1
