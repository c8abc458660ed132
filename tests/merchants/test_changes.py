"""The merchant's own changes after approval (issue #15): bank account, renewed documents,
contract amendments. Services only; the pages and the API are in test_changes_pages.py."""

from __future__ import annotations

import csv
import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from merchants import selectors, services
from merchants.choices import AmendmentStatus, ChangeStatus, DocumentStatus, MerchantStatus
from merchants.errors import MerchantConflict, MerchantError, MerchantInvalidTransition
from merchants.models import BankAccountChange, Contract, ContractAmendment, ContractVersion, Merchant, MerchantDocument
from merchants.signals import bank_account_changed
from tests.factories import UserFactory
from tests.merchants.factories import category, merchant_in_state, pdf_upload, png_upload, tier

pytestmark = pytest.mark.django_db

NEW_ACCOUNT = {
    "bank_account_name": "Bright Home Ltd",
    "bank_name": "CMB Hangzhou",
    "bank_account_number": "6214 8300 1234 5678",
}


def _actions(merchant):
    return [e.action for e in selectors.merchant_history(merchant).order_by("seq")]


# --- Bank account -------------------------------------------------------------------------


def test_bank_change_waits_for_finance_then_replaces_the_account(django_capture_on_commit_callbacks):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    finance = UserFactory(is_staff=True)
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs["merchant_id"], kwargs["changed_at"]))

    bank_account_changed.connect(receiver)
    try:
        change = services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
        assert change.status == ChangeStatus.PENDING
        assert change.bank_account_number == "6214830012345678"
        merchant.refresh_from_db()
        assert merchant.bank_account_number == "6222021234567890"  # unchanged until verified
        assert selectors.bank_change_pending(merchant) == change
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            approved = services.bank_change_approve(change=change, actor=finance)
        assert approved.status == ChangeStatus.APPROVED
        assert approved.decided_by == finance
        merchant.refresh_from_db()
        assert (merchant.bank_account_name, merchant.bank_name, merchant.bank_account_number) == (
            "Bright Home Ltd",
            "CMB Hangzhou",
            "6214830012345678",
        )
        assert received == [(Merchant, merchant.pk, approved.decided_at)]
        assert len(callbacks) == 2  # the signal and the e-mail
    finally:
        bank_account_changed.disconnect(receiver)
    assert _actions(merchant)[-2:] == ["merchant.bank_change_requested", "merchant.bank_change_approved"]
    entry = selectors.merchant_history(merchant).first()
    assert entry.data == {"change": change.pk, "from_last4": "7890", "to_last4": "5678"}
    # The stored number is encrypted: the plain digits are not in the row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT bank_account_number FROM merchants_bankaccountchange WHERE id = %s", [change.pk])
        assert "6214830012345678" not in cursor.fetchone()[0]


def test_refused_bank_change_keeps_the_account_and_no_signal(django_capture_on_commit_callbacks):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    finance = UserFactory(is_staff=True)
    change = services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
    received = []
    bank_account_changed.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t-refuse")
    try:
        with pytest.raises(MerchantError) as info:
            services.bank_change_refuse(change=change, actor=finance, reason="  ")
        assert info.value.code == "reason_required"
        assert BankAccountChange.objects.get(pk=change.pk).status == ChangeStatus.PENDING
        with django_capture_on_commit_callbacks(execute=True):
            services.bank_change_refuse(change=change, actor=finance, reason="Holder name differs from the licence")
    finally:
        bank_account_changed.disconnect(dispatch_uid="t-refuse")
    assert received == []
    refused = BankAccountChange.objects.get(pk=change.pk)
    assert (refused.status, refused.reason) == (ChangeStatus.REFUSED, "Holder name differs from the licence")
    merchant.refresh_from_db()
    assert merchant.bank_account_number == "6222021234567890"
    with pytest.raises(MerchantInvalidTransition) as info:
        services.bank_change_approve(change=change, actor=finance)
    assert info.value.code == "invalid_transition"
    merchant.refresh_from_db()
    assert merchant.bank_account_number == "6222021234567890"


@pytest.mark.parametrize(
    ("fields", "code", "extra"),
    [
        ({"bank_account_number": "12 34"}, "invalid_bank_account", {"bank_account_number"}),
        ({"bank_account_number": "62220212345678ab"}, "invalid_bank_account", {"bank_account_number"}),
        ({"bank_account_name": " "}, "invalid_bank_account", {"bank_account_name"}),
        ({"bank_name": ""}, "invalid_bank_account", {"bank_name"}),
    ],
)
def test_invalid_bank_change_writes_nothing(fields, code, extra):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    history = len(_actions(merchant))
    with pytest.raises(MerchantError) as info:
        services.bank_change_request(merchant=merchant, actor=merchant.owner, **{**NEW_ACCOUNT, **fields})
    assert info.value.code == code
    assert set(info.value.extra["fields"]) == extra
    assert BankAccountChange.objects.count() == 0
    assert len(_actions(merchant)) == history


def test_bank_change_refusals():
    applicant = merchant_in_state(MerchantStatus.SUBMITTED)
    with pytest.raises(MerchantConflict) as info:
        services.bank_change_request(merchant=applicant, actor=applicant.owner, **NEW_ACCOUNT)
    assert info.value.code == "merchant_not_active"
    merchant = merchant_in_state(MerchantStatus.LIVE)
    with pytest.raises(MerchantError) as info:
        services.bank_change_request(
            merchant=merchant,
            actor=merchant.owner,
            bank_account_name=merchant.bank_account_name,
            bank_name=merchant.bank_name,
            bank_account_number=merchant.bank_account_number,
        )
    assert info.value.code == "bank_account_unchanged"
    services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
    with pytest.raises(MerchantConflict) as info:
        services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
    assert info.value.code == "bank_change_pending"
    assert BankAccountChange.objects.count() == 1


def test_payouts_use_the_verified_account_never_a_pending_one():
    from settlements import services as settlement_services
    from tests.settlements.test_payouts import _approved

    shops, _approver = _approved(count=1)
    merchant = Merchant.objects.get(pk=shops[0].merchant.pk)
    services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
    payer = UserFactory(is_staff=True)
    batch = settlement_services.payout_batch_create(actor=payer)
    rows = list(csv.DictReader(io.StringIO(settlement_services.payout_batch_csv(batch=batch, actor=payer))))
    assert [(r["payee"], r["bank"], r["account_number"]) for r in rows] == [
        (merchant.bank_account_name, merchant.bank_name, "6222021234567890")
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_refuse_of_one_change_give_one_outcome():
    merchant = merchant_in_state(MerchantStatus.LIVE)
    change = services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW_ACCOUNT)
    finance = [UserFactory(is_staff=True), UserFactory(is_staff=True)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(n):
        try:
            barrier.wait()
            if n == 0:
                services.bank_change_approve(change=change, actor=finance[0])
            else:
                services.bank_change_refuse(change=change, actor=finance[1], reason="Cannot verify")
            outcomes.append("approved" if n == 0 else "refused")
        except MerchantInvalidTransition as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) in (["approved", "invalid_transition"], ["invalid_transition", "refused"])
    final = BankAccountChange.objects.get(pk=change.pk)
    merchant.refresh_from_db()
    actions = _actions(merchant)
    if "approved" in outcomes:
        assert final.status == ChangeStatus.APPROVED
        assert merchant.bank_account_number == "6214830012345678"
        assert "merchant.bank_change_refused" not in actions
    else:
        assert final.status == ChangeStatus.REFUSED
        assert merchant.bank_account_number == "6222021234567890"
        assert "merchant.bank_change_approved" not in actions
    assert actions.count("merchant.bank_change_approved") + actions.count("merchant.bank_change_refused") == 1


# --- Renewed documents ----------------------------------------------------------------------


def _expiring_document(merchant, *, days: int) -> MerchantDocument:
    document = merchant.documents.get(kind="business_licence")
    MerchantDocument.objects.filter(pk=document.pk).update(expires_on=timezone.localdate() + datetime.timedelta(days))
    document.refresh_from_db()
    return document


def test_renewal_accepted_replaces_the_document_and_clears_the_flag():
    merchant = merchant_in_state(MerchantStatus.LIVE)
    old = _expiring_document(merchant, days=-3)
    assert services.merchant_refresh_expired_flag(merchant=merchant) is True
    reviewer = UserFactory(is_staff=True)
    new_expiry = timezone.localdate() + datetime.timedelta(days=365)
    renewal = services.document_renew(
        merchant=merchant, actor=merchant.owner, document=old, uploaded=pdf_upload(), expires_on=new_expiry
    )
    assert (renewal.status, renewal.renews, renewal.kind, renewal.content_type) == (
        DocumentStatus.PENDING,
        old,
        "business_licence",
        "application/pdf",
    )
    # Waiting for review changes nothing in force.
    assert list(selectors.document_current_list(merchant)) == [old]
    assert Merchant.objects.get(pk=merchant.pk).has_expired_documents is True
    accepted = services.document_renewal_accept(renewal=renewal, actor=reviewer)
    assert (accepted.status, accepted.reviewed_by, accepted.expires_on) == (
        DocumentStatus.CURRENT,
        reviewer,
        new_expiry,
    )
    old.refresh_from_db()
    assert old.status == DocumentStatus.REPLACED  # kept: the history stays
    assert list(selectors.document_current_list(merchant)) == [accepted]
    assert Merchant.objects.get(pk=merchant.pk).has_expired_documents is False
    assert not selectors.documents_expiring().filter(merchant=merchant).exists()
    assert _actions(merchant)[-2:] == ["merchant.document_renewal_uploaded", "merchant.document_renewal_accepted"]
    assert selectors.merchant_history(merchant).first().data == {
        "kind": "business_licence",
        "document": accepted.pk,
        "replaced": [old.pk],
        "documents_expired": False,
    }
    with pytest.raises(MerchantInvalidTransition) as info:
        services.document_renewal_refuse(renewal=renewal, actor=reviewer, reason="late")
    assert info.value.code == "invalid_transition"


def test_expired_flag_stays_while_another_document_is_expired():
    merchant = merchant_in_state(MerchantStatus.LIVE, sells_manufactured_goods=True)
    licence = _expiring_document(merchant, days=-1)
    production = merchant.documents.get(kind="production_licence")
    MerchantDocument.objects.filter(pk=production.pk).update(expires_on=timezone.localdate() - datetime.timedelta(2))
    services.merchant_refresh_expired_flag(merchant=merchant)
    renewal = services.document_renew(
        merchant=merchant,
        actor=merchant.owner,
        document=licence,
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    services.document_renewal_accept(renewal=renewal, actor=UserFactory(is_staff=True))
    assert Merchant.objects.get(pk=merchant.pk).has_expired_documents is True


def test_refused_renewal_keeps_the_old_document():
    merchant = merchant_in_state(MerchantStatus.LIVE)
    old = _expiring_document(merchant, days=10)
    renewal = services.document_renew(
        merchant=merchant,
        actor=merchant.owner,
        document=old,
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=400),
    )
    services.document_renewal_refuse(renewal=renewal, actor=UserFactory(is_staff=True), reason="Scan unreadable")
    renewal.refresh_from_db()
    old.refresh_from_db()
    assert (renewal.status, renewal.review_reason) == (DocumentStatus.REFUSED, "Scan unreadable")
    assert old.status == DocumentStatus.CURRENT
    assert list(selectors.document_renewal_list(merchant)) == [renewal]
    # Refused, it may be uploaded again.
    again = services.document_renew(
        merchant=merchant,
        actor=merchant.owner,
        document=old,
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=400),
    )
    assert again.status == DocumentStatus.PENDING


def test_renewal_refusals_write_nothing():
    merchant = merchant_in_state(MerchantStatus.LIVE)
    document = merchant.documents.get(kind="business_licence")  # no expiry date: nothing to renew
    count = merchant.documents.count()
    history = len(_actions(merchant))
    future = timezone.localdate() + datetime.timedelta(days=300)
    with pytest.raises(MerchantConflict) as info:
        services.document_renew(
            merchant=merchant, actor=merchant.owner, document=document, uploaded=png_upload(), expires_on=future
        )
    assert info.value.code == "document_not_renewable"
    far = _expiring_document(merchant, days=200)
    with pytest.raises(MerchantConflict) as info:
        services.document_renew(
            merchant=merchant, actor=merchant.owner, document=far, uploaded=png_upload(), expires_on=future
        )
    assert info.value.code == "document_not_renewable"
    soon = _expiring_document(merchant, days=5)
    for expires_on, code in [(None, "expiry_date_required"), (timezone.localdate(), "document_expired")]:
        with pytest.raises(MerchantError) as info:
            services.document_renew(
                merchant=merchant, actor=merchant.owner, document=soon, uploaded=png_upload(), expires_on=expires_on
            )
        assert info.value.code == code
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("licence.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(MerchantError) as info:
        services.document_renew(
            merchant=merchant, actor=merchant.owner, document=soon, uploaded=fake, expires_on=future
        )
    assert info.value.code == "file_type_not_allowed"
    other = merchant_in_state(MerchantStatus.LIVE)
    with pytest.raises(MerchantDocument.DoesNotExist):
        services.document_renew(
            merchant=other, actor=other.owner, document=soon, uploaded=png_upload(), expires_on=future
        )
    assert merchant.documents.count() == count
    assert len(_actions(merchant)) == history
    services.document_renew(
        merchant=merchant, actor=merchant.owner, document=soon, uploaded=png_upload(), expires_on=future
    )
    with pytest.raises(MerchantConflict) as info:
        services.document_renew(
            merchant=merchant, actor=merchant.owner, document=soon, uploaded=png_upload(), expires_on=future
        )
    assert info.value.code == "renewal_pending"
    assert merchant.documents.count() == count + 1


# --- Contract amendments ----------------------------------------------------------------------


def _live_contract(**kwargs) -> tuple[Merchant, Contract]:
    merchant = merchant_in_state(MerchantStatus.LIVE, **kwargs)
    return merchant, selectors.current_contract(merchant)


def test_accepted_amendment_applies_every_term_and_keeps_the_old_version():
    merchant, contract = _live_contract()
    staff = UserFactory(is_staff=True)
    kitchen, garden = category("Kitchen"), category("Garden")
    old_terms = services.amendments.contract_terms(contract)
    end = contract.start_date.replace(year=contract.start_date.year + 4)
    amendment = services.amendment_propose(
        contract=contract,
        actor=staff,
        reason="Strategic partnership from next quarter",
        category_ids=[garden.pk, kitchen.pk, kitchen.pk],
        sales_regions=["north", "east"],
        settlement_days=7,
        tier=tier("strategic"),
        end_date=end,
    )
    assert amendment.status == AmendmentStatus.PROPOSED
    contract.refresh_from_db()
    assert contract.version == 1 and contract.settlement_days == 15  # nothing applies before acceptance
    amended = services.amendment_accept(amendment=amendment, actor=merchant.owner)
    amended.refresh_from_db()
    assert amended.category_ids == sorted([kitchen.pk, garden.pk])
    assert amended.sales_regions == ["north", "east"]
    assert amended.settlement_days == 7
    assert amended.tier.code == "strategic"
    assert amended.commission_plan == "ladder"
    assert amended.ladder_steps == [
        {"min_net_sales": "1000000.00", "points": "1"},
        {"min_net_sales": "5000000.00", "points": "2"},
    ]
    assert amended.end_date == end
    assert amended.version == 2
    merchant.refresh_from_db()
    assert merchant.tier.code == "strategic"
    assert selectors.deposit_required(merchant) == Decimal("100000.00")
    version = ContractVersion.objects.get(contract=contract)
    assert (version.version, version.terms, version.amendment) == (1, old_terms, amendment)
    assert ContractAmendment.objects.get(pk=amendment.pk).status == AmendmentStatus.ACCEPTED
    assert _actions(merchant)[-2:] == ["merchant.amendment_proposed", "merchant.amendment_accepted"]


def test_ladder_steps_amendment_and_decline():
    merchant, contract = _live_contract(tier_code="strategic")
    staff = UserFactory(is_staff=True)
    steps = [{"min_net_sales": "500000", "points": "0.5"}, {"min_net_sales": "2000000", "points": "1.5"}]
    declined = services.amendment_propose(contract=contract, actor=staff, reason="Lower steps", ladder_steps=steps)
    services.amendment_decline(amendment=declined, actor=merchant.owner, reason="We prefer the current steps")
    contract.refresh_from_db()
    assert contract.version == 1
    assert contract.ladder_steps[0] == {"min_net_sales": "1000000.00", "points": "1"}
    declined.refresh_from_db()
    assert (declined.status, declined.decline_reason) == (AmendmentStatus.DECLINED, "We prefer the current steps")
    with pytest.raises(MerchantInvalidTransition) as info:
        services.amendment_accept(amendment=declined, actor=merchant.owner)
    assert info.value.code == "invalid_transition"
    again = services.amendment_propose(contract=contract, actor=staff, reason="Lower steps", ladder_steps=steps)
    services.amendment_accept(amendment=again, actor=merchant.owner)
    contract.refresh_from_db()
    assert contract.ladder_steps == [
        {"min_net_sales": "500000.00", "points": "0.5"},
        {"min_net_sales": "2000000.00", "points": "1.5"},
    ]
    assert contract.version == 2


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({}, "amendment_empty"),
        ({"tier": "same"}, "amendment_empty"),
        ({"sales_regions": ["mars"]}, "invalid_amendment"),
        ({"settlement_days": 0}, "invalid_amendment"),
        ({"settlement_days": 91}, "invalid_amendment"),
        ({"category_ids": ["x"]}, "invalid_amendment"),
        ({"end_date": "before"}, "invalid_amendment"),
        ({"ladder_steps": [{"min_net_sales": "100", "points": "1"}]}, "ladder_not_applicable"),
        ({"tier": "strategic"}, "strategic_contract_too_short"),
    ],
)
def test_invalid_amendments_write_nothing(terms, code):
    merchant, contract = _live_contract()  # core tier, the default 1-year term
    if terms.get("tier") == "same":
        terms = {"tier": contract.tier}
    elif terms.get("tier") == "strategic":
        terms = {"tier": tier("strategic")}
    if terms.get("end_date") == "before":
        terms = {"end_date": contract.start_date}
    history = len(_actions(merchant))
    with pytest.raises(MerchantError) as info:
        services.amendment_propose(contract=contract, actor=UserFactory(is_staff=True), reason="Why", **terms)
    assert info.value.code == code
    assert ContractAmendment.objects.count() == 0
    assert len(_actions(merchant)) == history


def test_bad_ladder_steps_and_pending_amendment():
    _merchant, contract = _live_contract(tier_code="strategic")
    staff = UserFactory(is_staff=True)
    for steps in (
        [],
        [{"min_net_sales": "100"}],
        [{"min_net_sales": "200", "points": "1"}, {"min_net_sales": "100", "points": "2"}],
    ):
        with pytest.raises(MerchantError) as info:
            services.amendment_propose(contract=contract, actor=staff, reason="x", ladder_steps=steps)
        assert info.value.code == "invalid_ladder_steps"
    with pytest.raises(MerchantError) as info:
        services.amendment_propose(contract=contract, actor=staff, reason=" ", settlement_days=7)
    assert info.value.code == "reason_required"
    # The strategic minimum holds on amendment too: the end date cannot come nearer than 3 years.
    with pytest.raises(MerchantError) as info:
        services.amendment_propose(
            contract=contract, actor=staff, reason="x", end_date=contract.start_date + datetime.timedelta(days=700)
        )
    assert info.value.code == "strategic_contract_too_short"
    services.amendment_propose(contract=contract, actor=staff, reason="x", settlement_days=7)
    with pytest.raises(MerchantConflict) as info:
        services.amendment_propose(contract=contract, actor=staff, reason="x", settlement_days=10)
    assert info.value.code == "amendment_pending"
    assert ContractAmendment.objects.count() == 1


def test_only_an_accepted_contract_is_amended():
    merchant = merchant_in_state(MerchantStatus.APPROVED)
    contract = selectors.current_contract(merchant)
    with pytest.raises(MerchantConflict) as info:
        services.amendment_propose(contract=contract, actor=UserFactory(is_staff=True), reason="x", settlement_days=7)
    assert info.value.code == "contract_not_in_force"


def test_strategic_approval_needs_three_years():
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW)
    with pytest.raises(MerchantError) as info:
        services.application_approve(
            merchant=merchant, actor=UserFactory(is_staff=True), tier=tier("strategic"), contract_years=2
        )
    assert info.value.code == "strategic_contract_too_short"
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.UNDER_REVIEW
    assert Contract.objects.filter(merchant=merchant).count() == 0
    services.application_approve(merchant=merchant, actor=UserFactory(is_staff=True), tier=tier("strategic"))
    contract = selectors.current_contract(merchant)
    assert contract.end_date == contract.start_date.replace(year=contract.start_date.year + 3)


def test_contract_scope_follows_the_merchants_categories():
    merchant, contract = _live_contract()
    kitchen = category("Kitchen")
    before = list(contract.category_ids)
    services.contract_scope_set(merchant=merchant, actor=UserFactory(is_staff=True), category_ids=[kitchen.pk])
    contract.refresh_from_db()
    assert (contract.category_ids, contract.version) == ([kitchen.pk], 2)
    assert ContractVersion.objects.get(contract=contract).terms["category_ids"] == before
    # The same scope again changes nothing.
    services.contract_scope_set(merchant=merchant, actor=UserFactory(is_staff=True), category_ids=[kitchen.pk])
    contract.refresh_from_db()
    assert contract.version == 2
    assert _actions(merchant).count("merchant.contract_scope_changed") == 1
