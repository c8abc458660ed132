import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction

from catalog.models import CategoryGrant
from catalog.services import merchant_approve_with_grants
from marketplace.audit import audit_chain_verify
from marketplace.models import AppendOnlyError
from merchants import selectors, services
from merchants.choices import MerchantStatus
from merchants.errors import MerchantConflict, MerchantError, MerchantInvalidTransition
from merchants.models import Contract, DepositEntry, Merchant, MerchantDocument, MerchantMember, PublicHoliday, Tier
from merchants.validators import is_valid_uscc
from tests.factories import UserFactory
from tests.merchants.factories import (
    application_data,
    category,
    draft_application,
    merchant_in_state,
    png_upload,
    tier,
    valid_uscc,
)

pytestmark = pytest.mark.django_db


def _actions(merchant):
    return [e.action for e in selectors.merchant_history(merchant).order_by("seq")]


def test_the_whole_journey_records_every_transition(django_capture_on_commit_callbacks):
    reviewer = UserFactory(is_staff=True, email="rev@example.com")
    cat = category("Kitchen")
    with django_capture_on_commit_callbacks(execute=True):
        merchant = draft_application(categories=[cat])
        owner = merchant.owner
        services.application_submit(merchant=merchant, actor=owner)
        services.application_start_review(merchant=merchant, actor=reviewer)
        merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier("core"), reason="Strong brand")
        services.contract_accept(merchant=merchant, actor=owner)
        services.deposit_record_payment(merchant=merchant, actor=reviewer, amount="50000.00", reference="BANK-1")
        services.merchant_go_live(merchant=merchant, actor=owner)
        services.merchant_suspend(merchant=merchant, actor=reviewer, reason="Counterfeit complaint")
        services.merchant_reinstate(merchant=merchant, actor=reviewer, reason="Complaint cleared")
        services.merchant_terminate(merchant=merchant, actor=reviewer, reason="Merchant asked to leave")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.TERMINATED
    assert merchant.tier.code == "core"
    assert merchant.live_since is not None
    assert merchant.slug == "bright-home"
    assert _actions(merchant) == [
        "merchant.application_created",
        "merchant.document_added",
        "merchant.submit",
        "merchant.start_review",
        "merchant.approve",
        "catalog.category_grants_changed",
        "merchant.accept_contract",
        "merchant.deposit_paid",
        "merchant.deposit_paid",
        "merchant.go_live",
        "merchant.suspend",
        "merchant.reinstate",
        "merchant.terminate",
        "merchant.deposit_refund_scheduled",
    ]
    approve = selectors.merchant_history(merchant).get(action="merchant.approve")
    assert (approve.actor, approve.reason, approve.data) == (
        reviewer,
        "Strong brand",
        {"from": "under_review", "to": "approved", "tier": "core"},
    )
    assert list(CategoryGrant.objects.filter(merchant=merchant).values_list("category_id", flat=True)) == [cat.pk]
    contract = Contract.objects.get(merchant=merchant)
    assert (contract.status, contract.settlement_days, contract.commission_plan, contract.tier.code) == (
        "accepted",
        15,
        "standard",
        "core",
    )
    assert contract.accepted_by == merchant.owner
    assert selectors.deposit_balance(merchant) == Decimal("50000.00")
    assert audit_chain_verify() is None
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 8  # submitted, approved, contract, deposit, live, suspended, reinstated, terminated
    assert all(m.to == ["contact@brighthome.example.com"] for m in mail.outbox)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (MerchantStatus.DRAFT, "approve"),
        (MerchantStatus.APPROVED, "approve"),
        (MerchantStatus.REJECTED, "submit"),
        (MerchantStatus.LIVE, "reinstate"),
        (MerchantStatus.SUSPENDED, "suspend"),
        (MerchantStatus.TERMINATED, "terminate"),
        (MerchantStatus.SUBMITTED, "accept_contract"),
        (MerchantStatus.CONTRACT_SIGNED, "go_live"),
    ],
)
def test_transitions_from_a_wrong_state_are_refused_and_change_nothing(status, action):
    merchant = merchant_in_state(status)
    reviewer = UserFactory(is_staff=True)
    before = (merchant.status, len(_actions(merchant)))
    calls = {
        "approve": lambda: services.application_approve(merchant=merchant, actor=reviewer, tier=tier("core")),
        "submit": lambda: services.application_submit(merchant=merchant, actor=merchant.owner),
        "reinstate": lambda: services.merchant_reinstate(merchant=merchant, actor=reviewer, reason="x"),
        "suspend": lambda: services.merchant_suspend(merchant=merchant, actor=reviewer, reason="x"),
        "terminate": lambda: services.merchant_terminate(merchant=merchant, actor=reviewer, reason="x"),
        "accept_contract": lambda: services.contract_accept(merchant=merchant, actor=merchant.owner),
        "go_live": lambda: services.merchant_go_live(merchant=merchant, actor=merchant.owner),
    }
    with pytest.raises(MerchantInvalidTransition) as info:
        calls[action]()
    assert info.value.code == "invalid_transition"
    assert info.value.status_code == 409
    assert info.value.extra == {"status": status, "action": action}
    merchant.refresh_from_db()
    assert (merchant.status, len(_actions(merchant))) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda m, r: services.application_reject(merchant=m, actor=r, reason="  "),
        lambda m, r: services.application_request_changes(merchant=m, actor=r, reason=""),
    ],
)
def test_reasons_are_required(call):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED)
    with pytest.raises(MerchantError) as info:
        call(merchant, UserFactory(is_staff=True))
    assert info.value.code == "reason_required"
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.SUBMITTED


def test_incomplete_application_lists_what_is_missing():
    merchant = draft_application(with_documents=False, is_cross_border=True, bank_account_number="")
    with pytest.raises(MerchantError) as info:
        services.application_submit(merchant=merchant, actor=merchant.owner)
    assert info.value.code == "application_incomplete"
    assert info.value.extra == {
        "fields": ["bank_account_number"],
        "documents": ["business_licence", "customs_credit_rating", "import_export_licence"],
    }
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.DRAFT


def test_required_documents_follow_the_choices():
    merchant = draft_application(with_documents=False)
    assert selectors.required_document_kinds(merchant) == ["business_licence"]
    merchant = draft_application(
        with_documents=False, sells_manufactured_goods=True, sells_third_party_brands=True, is_cross_border=True
    )
    assert selectors.required_document_kinds(merchant) == [
        "business_licence",
        "production_licence",
        "brand_authorisation",
        "customs_credit_rating",
        "import_export_licence",
    ]


def test_an_expired_document_does_not_count():
    merchant = draft_application(with_documents=False)
    services.document_add(
        merchant=merchant,
        actor=merchant.owner,
        kind="business_licence",
        uploaded=png_upload(),
        expires_on=datetime.date.today() + datetime.timedelta(days=1),
    )
    assert selectors.missing_document_kinds(merchant) == []
    assert selectors.missing_document_kinds(merchant, today=datetime.date.today() + datetime.timedelta(days=2)) == [
        "business_licence"
    ]


def test_changes_requested_then_resubmitted():
    merchant = merchant_in_state(MerchantStatus.CHANGES_REQUESTED)
    assert merchant.status_reason == "Upload a clearer licence"
    services.application_update(merchant=merchant, actor=merchant.owner, data={"shop_name": "Bright Home Official"})
    services.application_submit(merchant=merchant, actor=merchant.owner)
    merchant.refresh_from_db()
    assert (merchant.status, merchant.shop_name, merchant.status_reason) == ("submitted", "Bright Home Official", "")


def test_a_submitted_application_cannot_be_edited():
    merchant = merchant_in_state(MerchantStatus.SUBMITTED)
    with pytest.raises(MerchantInvalidTransition) as info:
        services.application_update(merchant=merchant, actor=merchant.owner, data={"shop_name": "Other"})
    assert info.value.code == "application_locked"
    merchant.refresh_from_db()
    assert merchant.shop_name == "Bright Home"


def test_invalid_fields_are_refused_with_field_messages():
    owner = UserFactory()
    with pytest.raises(MerchantError) as info:
        services.application_create(
            owner=owner,
            data=application_data(
                social_credit_code="91310000000000001X",
                legal_rep_id_number="110105194912310021",
                bank_account_number="12ab",
                sales_regions=["mars"],
            ),
        )
    assert info.value.code == "invalid_application"
    assert set(info.value.extra["fields"]) == {
        "social_credit_code",
        "legal_rep_id_number",
        "bank_account_number",
        "sales_regions",
    }
    assert Merchant.objects.count() == 0
    assert MerchantMember.objects.count() == 0


def test_a_user_applies_only_once():
    merchant = draft_application()
    with pytest.raises(MerchantConflict) as info:
        services.application_create(owner=merchant.owner, data=application_data())
    assert info.value.code == "already_member"
    assert Merchant.objects.count() == 1


def test_the_same_company_cannot_be_under_review_twice_but_may_reapply_after_rejection():
    code = valid_uscc()
    first = merchant_in_state(MerchantStatus.SUBMITTED, social_credit_code=code)
    second = draft_application(social_credit_code=code)
    with pytest.raises(MerchantConflict) as info:
        services.application_submit(merchant=second, actor=second.owner)
    assert info.value.code == "company_already_registered"
    services.application_start_review(merchant=first, actor=UserFactory(is_staff=True))
    services.application_reject(merchant=first, actor=UserFactory(is_staff=True), reason="Incomplete")
    services.application_submit(merchant=second, actor=second.owner)
    second.refresh_from_db()
    assert second.status == MerchantStatus.SUBMITTED


def test_uscc_check_character():
    assert is_valid_uscc("91350100M000100Y43")
    assert is_valid_uscc("91110108551385082Q")
    assert not is_valid_uscc("91110108551385082R")
    assert not is_valid_uscc("9111010855138508")
    assert not is_valid_uscc("91110108551385082I")


def test_approval_of_joint_operation_requires_the_revenue_share_rate():
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, cooperation_mode="joint_operation")
    reviewer = UserFactory(is_staff=True)
    with pytest.raises(MerchantError) as info:
        services.application_approve(merchant=merchant, actor=reviewer, tier=tier("core"))
    assert info.value.code == "revenue_share_rate_required"
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.UNDER_REVIEW
    services.application_approve(
        merchant=merchant, actor=reviewer, tier=tier("strategic"), revenue_share_rate=Decimal("0.1200")
    )
    contract = selectors.current_contract(merchant)
    assert (contract.revenue_share_rate, contract.commission_plan) == (Decimal("0.1200"), "ladder")
    assert contract.ladder_steps == [
        {"min_net_sales": "1000000.00", "points": "1"},
        {"min_net_sales": "5000000.00", "points": "2"},
    ]
    # Strategic: at least three years.
    assert contract.end_date.year - contract.start_date.year == 3


def test_deposit_ledger_balance_and_shortfall():
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    staff = UserFactory(is_staff=True)
    assert (selectors.deposit_required(merchant), selectors.deposit_balance(merchant)) == (
        Decimal("20000.00"),
        Decimal("0.00"),
    )
    services.deposit_record_payment(merchant=merchant, actor=staff, amount="15000.00", reference="B-1")
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.CONTRACT_SIGNED  # not enough yet
    assert selectors.deposit_shortfall(merchant) == Decimal("5000.00")
    services.deposit_record_payment(merchant=merchant, actor=staff, amount="5000.00", reference="B-2")
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.DEPOSIT_PAID
    # The same reference again posts nothing.
    services.deposit_record_payment(merchant=merchant, actor=staff, amount="5000.00", reference="B-2")
    assert list(DepositEntry.objects.filter(merchant=merchant).values_list("kind", "amount")) == [
        ("paid", Decimal("15000.00")),
        ("topped_up", Decimal("5000.00")),
    ]
    services.deposit_deduct(merchant=merchant, actor=staff, amount="1200.50", reason="Fake shipping", reference="C-1")
    assert selectors.deposit_balance(merchant) == Decimal("18799.50")
    with pytest.raises(MerchantConflict) as info:
        services.deposit_deduct(merchant=merchant, actor=staff, amount="20000", reason="Too much", reference="C-2")
    assert info.value.code == "insufficient_deposit"
    assert selectors.deposit_balance(merchant) == Decimal("18799.50")
    with pytest.raises(MerchantError) as info:
        services.deposit_deduct(merchant=merchant, actor=staff, amount="10", reason="", reference="C-3")
    assert info.value.code == "reason_required"
    with pytest.raises(MerchantConflict) as info:
        services.deposit_refund(merchant=merchant, actor=staff, reference="R-1")
    assert info.value.code == "deposit_refund_not_allowed"


def test_refund_after_termination_empties_the_deposit():
    merchant = merchant_in_state(MerchantStatus.TERMINATED)
    staff = UserFactory(is_staff=True)
    services.deposit_refund(merchant=merchant, actor=staff, reference="R-1")
    assert selectors.deposit_balance(merchant) == Decimal("0.00")
    with pytest.raises(MerchantConflict) as info:
        services.deposit_refund(merchant=merchant, actor=staff, reference="R-2")
    assert info.value.code == "nothing_to_refund"


def test_deposit_entries_are_append_only_and_signed():
    merchant = merchant_in_state(MerchantStatus.DEPOSIT_PAID)
    entry = DepositEntry.objects.get(merchant=merchant)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        DepositEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositEntry.objects.create(merchant=merchant, kind="deducted", amount=Decimal("5.00"), reference="X")
    assert selectors.deposit_balance(merchant) == Decimal("50000.00")


def test_tier_change_adjusts_the_required_deposit():
    merchant = merchant_in_state(MerchantStatus.LIVE, tier_code="potential")
    staff = UserFactory(is_staff=True)
    services.merchant_change_tier(merchant=merchant, actor=staff, tier=tier("strategic"), reason="Listed company")
    merchant.refresh_from_db()
    assert selectors.deposit_shortfall(merchant) == Decimal("80000.00")
    entry = selectors.merchant_history(merchant).get(action="merchant.tier_changed")
    assert entry.data == {"from": "potential", "to": "strategic", "deposit_required": "100000.00"}
    with pytest.raises(MerchantError):
        services.merchant_change_tier(merchant=merchant, actor=staff, tier=tier("core"), reason="")


def test_tier_deposit_stays_within_the_allowed_range():
    with pytest.raises(IntegrityError), transaction.atomic():
        Tier.objects.filter(code="core").update(deposit_amount=Decimal("19999.99"))
    assert Tier.objects.get(code="core").deposit_amount == Decimal("50000.00")


def test_termination_schedules_the_refund_30_working_days_later(monkeypatch):
    # Friday 2026-09-25; the National Day week (Oct 1–7) configured as holidays.
    for day in range(1, 8):
        PublicHoliday.objects.create(date=datetime.date(2026, 10, day), name="National Day")
    assert services.add_working_days(datetime.date(2026, 9, 25), 1) == datetime.date(2026, 9, 28)
    assert services.add_working_days(datetime.date(2026, 9, 25), 30) == datetime.date(2026, 11, 13)
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: datetime.date(2026, 9, 25))
    merchant = merchant_in_state(MerchantStatus.TERMINATED)
    assert merchant.deposit_refund_due_on == datetime.date(2026, 11, 13)


def test_sensitive_fields_are_encrypted_at_rest():
    merchant = draft_application()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bank_account_number, legal_rep_id_number FROM merchants_merchant WHERE id = %s", [merchant.pk]
        )
        bank, id_number = cursor.fetchone()
    assert bank.startswith("sm4gcm$") and "6222021234567890" not in bank
    assert id_number.startswith("sm4gcm$") and "11010519491231002X" not in id_number
    assert Merchant.objects.get(pk=merchant.pk).bank_account_number == "6222021234567890"


def test_members_invitations_and_roles(django_capture_on_commit_callbacks):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    owner = merchant.owner
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(merchant=merchant, actor=owner, email="Ops@Example.com", role="orders")
    assert mail.outbox[-1].to == ["ops@example.com"]
    assert f"/portal/invitations/{invitation.token}/" in mail.outbox[-1].body
    with pytest.raises(MerchantConflict):
        services.invitation_create(merchant=merchant, actor=owner, email="ops@example.com", role="orders")
    stranger = UserFactory(email="someone@example.com")
    with pytest.raises(MerchantError) as info:
        services.invitation_accept(token=invitation.token, user=stranger)
    assert info.value.code == "invitation_wrong_account"
    invited = UserFactory(email="ops@example.com")
    member = services.invitation_accept(token=invitation.token, user=invited)
    assert (member.merchant, member.role) == (merchant, "orders")
    with pytest.raises(MerchantConflict) as info:
        services.invitation_accept(token=invitation.token, user=invited)
    assert info.value.code == "invitation_used"
    services.member_change_role(member=member, actor=owner, role="finance")
    member.refresh_from_db()
    assert member.role == "finance"
    owner_member = MerchantMember.objects.get(user=owner)
    with pytest.raises(MerchantConflict):
        services.member_remove(member=owner_member, actor=owner)
    with pytest.raises(MerchantConflict):
        services.member_change_role(member=owner_member, actor=owner, role="catalog")
    services.member_remove(member=member, actor=owner)
    assert list(MerchantMember.objects.filter(merchant=merchant).values_list("role", flat=True)) == ["owner"]


def test_expired_invitations_are_refused():
    merchant = merchant_in_state(MerchantStatus.LIVE)
    invitation = services.invitation_create(
        merchant=merchant, actor=merchant.owner, email="x@example.com", role="catalog"
    )
    type(invitation).objects.filter(pk=invitation.pk).update(
        expires_at=invitation.expires_at - datetime.timedelta(days=30)
    )
    with pytest.raises(MerchantConflict) as info:
        services.invitation_accept(token=invitation.token, user=UserFactory(email="x@example.com"))
    assert info.value.code == "invitation_expired"
    assert MerchantMember.objects.filter(merchant=merchant).count() == 1


def test_documents_expiring_selector():
    merchant = draft_application(with_documents=False)
    today = datetime.date.today()
    soon = services.document_add(
        merchant=merchant,
        actor=merchant.owner,
        kind="business_licence",
        uploaded=png_upload(),
        expires_on=today + datetime.timedelta(days=20),
    )
    services.document_add(
        merchant=merchant,
        actor=merchant.owner,
        kind="quality_certification",
        uploaded=png_upload(),
        expires_on=today + datetime.timedelta(days=200),
    )
    assert list(selectors.documents_expiring()) == [soon]
    assert MerchantDocument.objects.count() == 2
