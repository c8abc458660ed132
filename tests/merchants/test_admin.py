"""The staff side in the Django admin: review queue, merchant page, action views, tiers,
deposit ledger and the catalog screens."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category, CategoryGrant
from merchants import selectors, services
from merchants.models import Contract, DepositEntry, Merchant, MerchantDocument, Tier
from tests.factories import UserFactory
from tests.merchants.factories import (
    VALID_ID_NUMBER,
    category,
    draft_application,
    merchant_in_state,
    png_upload,
    tier,
)

pytestmark = pytest.mark.django_db

BANK_NUMBER = "6222021234567890"


@pytest.fixture(autouse=True)
def _english(client):
    # Messages are asserted in English; the platform's default language is Chinese.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def staff(*groups: str):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def reviewer():
    return staff("reviewer")


@pytest.fixture
def operations():
    return staff("operations")


@pytest.fixture
def finance():
    return staff("finance")


def action_url(merchant, action: str) -> str:
    return reverse(f"admin:merchants_merchant_{action}", args=[merchant.pk])


def change_url(merchant) -> str:
    return reverse("admin:merchants_merchant_change", args=[merchant.pk])


CHANGELIST = reverse("admin:merchants_merchant_changelist")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def snapshot(merchant) -> dict:
    """Everything an action could change: compared before and after refused actions."""
    m = Merchant.objects.get(pk=merchant.pk)
    return {
        "status": m.status,
        "status_reason": m.status_reason,
        "tier": m.tier_id,
        "updated_at": m.updated_at,
        "refund_due": m.deposit_refund_due_on,
        "history": list(selectors.merchant_history(m).values_list("seq", flat=True)),
        "contracts": list(Contract.objects.filter(merchant=m).values_list("number", "status")),
        "deposit": list(DepositEntry.objects.filter(merchant=m).values_list("kind", "amount", "reference")),
        "grants": sorted(CategoryGrant.objects.filter(merchant=m).values_list("category_id", flat=True)),
    }


def last_event(merchant):
    entry = selectors.merchant_history(merchant).first()
    return entry.action, entry.actor, entry.reason


def ids(response) -> list[int]:
    return [m.pk for m in response.context["cl"].result_list]


# --- Review queue ----------------------------------------------------------------------


def test_changelist_lists_oldest_submitted_first(client, reviewer):
    newest = merchant_in_state("submitted")
    oldest = merchant_in_state("submitted")
    middle = merchant_in_state("under_review")
    draft = merchant_in_state("draft")
    now = timezone.now()
    for merchant, days in ((newest, 1), (oldest, 3), (middle, 2)):
        Merchant.objects.filter(pk=merchant.pk).update(submitted_at=now - datetime.timedelta(days=days))
    client.force_login(reviewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert ids(response) == [oldest.pk, middle.pk, newest.pk, draft.pk]
    assert "Under review" in response.content.decode()


def _with_document(expires_in_days: int | None, **overrides) -> Merchant:
    """A submitted merchant holding a quality certificate that expires in the given days."""
    merchant = draft_application(**overrides)
    document = services.document_add(
        merchant=merchant,
        actor=merchant.owner,
        kind="quality_certification",
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=max(expires_in_days, 0)),
    )
    if expires_in_days < 0:
        # Time passes after the upload: the document is expired now.
        MerchantDocument.objects.filter(pk=document.pk).update(
            expires_on=timezone.localdate() + datetime.timedelta(days=expires_in_days)
        )
    return services.application_submit(merchant=merchant, actor=merchant.owner)


@pytest.fixture
def queue():
    fruit, tea = category("Fruit"), category("Tea")
    return {
        "fruit": fruit,
        "tea": tea,
        "plain": merchant_in_state("submitted", categories=[fruit]),
        "strategic": merchant_in_state("under_review", categories=[tea], requested_tier=tier("strategic")),
        "potential": merchant_in_state("approved", tier_code="potential", categories=[fruit, tea]),
        "franchise": merchant_in_state("submitted", categories=[fruit], cooperation_mode="franchise"),
        "expiring": _with_document(10, categories=[fruit]),
        "expired": _with_document(-1, categories=[fruit]),
        "later": _with_document(31, categories=[fruit]),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda q: {"status__exact": "under_review"}, ["strategic"]),
        (lambda q: {"status__exact": "approved"}, ["potential"]),
        (lambda q: {"tier__id__exact": tier("potential").pk}, ["potential"]),
        (lambda q: {"requested_tier__id__exact": tier("strategic").pk}, ["strategic"]),
        (lambda q: {"cooperation_mode__exact": "franchise"}, ["franchise"]),
        (lambda q: {"requested_category": q["tea"].pk}, ["strategic", "potential"]),
        (lambda q: {"documents_expiring": "yes"}, ["expiring", "expired"]),
        (
            lambda q: {"documents_expiring": "no"},
            ["plain", "strategic", "potential", "franchise", "later"],
        ),
    ],
)
def test_changelist_filters(client, reviewer, queue, query, expected):
    client.force_login(reviewer)
    response = client.get(CHANGELIST, query(queue))
    assert response.status_code == 200
    assert ids(response) == [queue[name].pk for name in expected]


def test_changelist_flags_expiring_documents(client, reviewer, queue):
    client.force_login(reviewer)
    flags = {m.pk: m.has_expiring_documents for m in client.get(CHANGELIST).context["cl"].result_list}
    assert flags == {
        queue["plain"].pk: False,
        queue["strategic"].pk: False,
        queue["potential"].pk: False,
        queue["franchise"].pk: False,
        queue["expiring"].pk: True,
        queue["expired"].pk: True,
        queue["later"].pk: False,
    }


def test_changelist_search_by_owner_email(client, reviewer):
    found = merchant_in_state("submitted", owner=UserFactory(email="owner@brighthome.example.com"))
    merchant_in_state("submitted")
    client.force_login(reviewer)
    assert ids(client.get(CHANGELIST, {"q": "owner@brighthome"})) == [found.pk]


def test_staff_cannot_add_or_delete_merchants(client):
    merchant = merchant_in_state("submitted")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:merchants_merchant_add")).status_code == 403
    assert (
        client.post(reverse("admin:merchants_merchant_delete", args=[merchant.pk]), {"post": "yes"}).status_code == 403
    )
    assert Merchant.objects.filter(pk=merchant.pk).exists()


# --- Merchant page ---------------------------------------------------------------------


def test_change_page_masks_numbers_for_a_reviewer(client, reviewer):
    merchant = merchant_in_state("under_review")
    document = merchant.documents.get()
    client.force_login(reviewer)
    response = client.get(change_url(merchant))
    html = response.content.decode()
    assert response.status_code == 200
    assert BANK_NUMBER not in html
    assert VALID_ID_NUMBER not in html
    assert "•••• 7890" in html
    assert "•••• 002X" in html
    assert f'href="/portal/documents/{document.pk}/"' in html
    assert "<td>Review started</td>" in html  # the history
    assert 'name="_save"' not in html  # read-only: changes go through the actions


@pytest.mark.parametrize("who", ["finance", "superuser"])
def test_change_page_shows_full_numbers_to_finance_and_superusers(client, who):
    merchant = merchant_in_state("live")
    user = staff("finance") if who == "finance" else UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    html = client.get(change_url(merchant)).content.decode()
    assert BANK_NUMBER in html
    assert VALID_ID_NUMBER in html
    assert "•••• 7890" not in html


def test_change_page_shows_contract_deposit_grants_and_expiry(client, reviewer):
    merchant = merchant_in_state("live", reviewer=reviewer)
    contract = selectors.current_contract(merchant)
    client.force_login(reviewer)
    html = client.get(change_url(merchant)).content.decode()
    assert contract.number in html
    assert "¥50,000.00" in html  # balance and required
    assert f"<td>Home appliances</td><td>{reviewer.email}</td>" in html  # the grant and who made it
    assert "<td>Shop opened</td>" in html  # the history

    expiring = _with_document(5)
    html = client.get(change_url(expiring)).content.decode()
    assert "expires soon" in html


def _buttons(html: str, merchant) -> set[str]:
    names = [
        "start_review",
        "approve",
        "reject",
        "request_changes",
        "suspend",
        "reinstate",
        "terminate",
        "change_tier",
        "record_deposit",
        "deduct_deposit",
        "refund_deposit",
        "category_grants",
    ]
    return {name for name in names if f'href="{action_url(merchant, name)}"' in html}


@pytest.mark.parametrize(
    ("state", "group", "expected"),
    [
        ("submitted", "reviewer", {"start_review", "approve", "reject", "request_changes"}),
        ("under_review", "reviewer", {"approve", "reject", "request_changes"}),
        ("live", "reviewer", {"suspend", "terminate", "change_tier", "category_grants"}),
        ("suspended", "operations", {"reinstate", "terminate", "change_tier"}),
        ("live", "finance", {"record_deposit", "deduct_deposit"}),
        ("contract_signed", "finance", {"record_deposit"}),
        ("terminated", "finance", {"deduct_deposit", "refund_deposit"}),
        ("rejected", "reviewer", set()),
    ],
)
def test_change_page_shows_only_the_allowed_buttons(client, state, group, expected):
    merchant = merchant_in_state(state)
    client.force_login(staff(group))
    assert _buttons(client.get(change_url(merchant)).content.decode(), merchant) == expected


# --- Life-cycle actions ------------------------------------------------------------------


def test_start_review(client, reviewer):
    merchant = merchant_in_state("submitted")
    client.force_login(reviewer)
    assert client.get(action_url(merchant, "start_review")).status_code == 200
    response = client.post(action_url(merchant, "start_review"))
    assert response.status_code == 302
    assert response["Location"] == change_url(merchant)
    assert Merchant.objects.get(pk=merchant.pk).status == "under_review"
    assert last_event(merchant) == ("merchant.start_review", reviewer, "")
    assert messages_of(response) == [("success", "“Bright Home” is now “Under review”.")]


def test_approve_page_shows_the_tiers(client, reviewer):
    merchant = merchant_in_state("under_review")
    client.force_login(reviewer)
    response = client.get(action_url(merchant, "approve"))
    html = response.content.decode()
    assert response.status_code == 200
    for amount in ("¥20,000.00", "¥50,000.00", "¥100,000.00"):
        assert amount in html
    # Above the form: the merchant, then the tiers table the reviewer chooses from.
    summary = f'<label>Company:</label><div class="readonly">{merchant.company_name}</div>'
    assert html.index(summary) < html.index("<h2>Tiers</h2>") < html.index('<form method="post"')
    assert response.context["form"]["tier"].initial == tier("core").pk
    assert "revenue_share_rate" not in response.context["form"].fields


def test_approve_offers_the_contract_and_grants_the_categories(client, reviewer):
    fruit, tea = category("Fruit"), category("Tea")
    merchant = merchant_in_state("under_review", categories=[fruit, tea])
    client.force_login(reviewer)
    response = client.post(
        action_url(merchant, "approve"),
        {"tier": tier("strategic").pk, "reason": "Top-10 brand", "settlement_days": "30", "exclusive": "on"},
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.status, merchant.tier.code) == ("approved", "strategic")
    contract = Contract.objects.get(merchant=merchant)
    assert (contract.status, contract.tier.code, contract.category_ids, contract.settlement_days) == (
        "offered",
        "strategic",
        sorted([fruit.pk, tea.pk]),
        30,
    )
    assert (contract.commission_plan, contract.exclusive, contract.revenue_share_rate) == ("ladder", True, None)
    assert sorted(CategoryGrant.objects.filter(merchant=merchant).values_list("category_id", flat=True)) == sorted(
        [fruit.pk, tea.pk]
    )
    history = list(selectors.merchant_history(merchant)[:2])
    assert [(e.action, e.actor, e.reason) for e in history] == [
        ("catalog.category_grants_changed", reviewer, ""),
        ("merchant.approve", reviewer, "Top-10 brand"),
    ]
    assert messages_of(response) == [
        (
            "success",
            f"“Bright Home” is approved in tier “{tier('strategic').name}”. "
            f"Contract {contract.number} is offered; 2 categories granted.",
        )
    ]


def test_approve_joint_operation_requires_the_revenue_share_rate(client, reviewer):
    merchant = merchant_in_state("under_review", cooperation_mode="joint_operation")
    before = snapshot(merchant)
    client.force_login(reviewer)
    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk})
    assert response.status_code == 200
    assert response.context["form"].errors == {"revenue_share_rate": ["This field is required."]}
    assert snapshot(merchant) == before

    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk, "revenue_share_rate": "0.1200"})
    assert response.status_code == 302
    assert Contract.objects.get(merchant=merchant).revenue_share_rate == Decimal("0.1200")


def test_approve_refuses_a_revenue_share_rate_of_one(client, reviewer):
    merchant = merchant_in_state("under_review", cooperation_mode="joint_operation")
    before = snapshot(merchant)
    client.force_login(reviewer)
    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk, "revenue_share_rate": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "revenue_share_rate": ["The revenue-share rate is a fraction between 0 and 1."]
    }
    assert snapshot(merchant) == before


def test_approve_franchise_requires_the_fee(client, reviewer):
    merchant = merchant_in_state("under_review", cooperation_mode="franchise")
    before = snapshot(merchant)
    client.force_login(reviewer)
    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk})
    assert response.context["form"].errors == {"franchise_fee": ["This field is required."]}
    assert snapshot(merchant) == before

    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk, "franchise_fee": "30000.00"})
    assert response.status_code == 302
    assert Contract.objects.get(merchant=merchant).franchise_fee == Decimal("30000.00")


def test_approve_is_undone_when_the_grants_fail(client, reviewer):
    gone = category("Discontinued")
    merchant = merchant_in_state("under_review", categories=[gone])
    gone.delete()  # the application still names it
    before = snapshot(merchant)
    client.force_login(reviewer)
    response = client.post(action_url(merchant, "approve"), {"tier": tier("core").pk})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Some categories do not exist."]
    assert snapshot(merchant) == before


def test_approve_in_the_wrong_state_changes_nothing(client, reviewer):
    merchant = merchant_in_state("live")
    before = snapshot(merchant)
    client.force_login(reviewer)
    response = client.post(action_url(merchant, "approve"), {"tier": tier("strategic").pk})
    assert response.status_code == 302
    assert response["Location"] == change_url(merchant)
    assert messages_of(response) == [("error", "This cannot be done while the merchant is “Live”.")]
    assert snapshot(merchant) == before
    # The merchant page shows (and so consumes) the message.
    assert "This cannot be done while the merchant is “Live”." in client.get(change_url(merchant)).content.decode()

    response = client.get(action_url(merchant, "approve"))
    assert response.status_code == 302
    assert messages_of(response) == [("error", "“Approve” is not possible while the merchant is “Live”.")]


REASON_ACTIONS = [
    ("reject", "under_review", "rejected"),
    ("request_changes", "under_review", "changes_requested"),
    ("suspend", "live", "suspended"),
    ("reinstate", "suspended", "live"),
    ("terminate", "live", "terminated"),
]


@pytest.mark.parametrize(("action", "start", "end"), REASON_ACTIONS)
def test_reason_actions(client, operations, action, start, end):
    merchant = merchant_in_state(start)
    client.force_login(operations)
    assert client.get(action_url(merchant, action)).status_code == 200
    response = client.post(action_url(merchant, action), {"reason": "  Checked on the phone  "})
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.status, merchant.status_reason) == (end, "Checked on the phone")
    entry = selectors.merchant_history(merchant).get(action=f"merchant.{action}", actor=operations)
    assert entry.reason == "Checked on the phone"


@pytest.mark.parametrize(("action", "start", "end"), REASON_ACTIONS)
def test_reason_actions_require_a_reason(client, operations, action, start, end):
    merchant = merchant_in_state(start)
    before = snapshot(merchant)
    client.force_login(operations)
    response = client.post(action_url(merchant, action), {"reason": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert snapshot(merchant) == before


@pytest.mark.parametrize(("action", "start", "end"), REASON_ACTIONS)
def test_reason_actions_in_the_wrong_state_change_nothing(client, operations, action, start, end):
    merchant = merchant_in_state("rejected")
    before = snapshot(merchant)
    client.force_login(operations)
    response = client.post(action_url(merchant, action), {"reason": "Because"})
    assert response.status_code == 302
    assert messages_of(response) == [("error", "This cannot be done while the merchant is “Rejected”.")]
    assert snapshot(merchant) == before


def test_terminate_shows_the_refund_due_date(client, operations):
    merchant = merchant_in_state("live")
    client.force_login(operations)
    response = client.post(action_url(merchant, "terminate"), {"reason": "Contract breach"})
    due = services.add_working_days(timezone.localdate(), 30)
    assert Merchant.objects.get(pk=merchant.pk).deposit_refund_due_on == due
    assert messages_of(response) == [
        ("success", f"“Bright Home” is terminated. The deposit refund is due on {due.isoformat()}.")
    ]


def test_change_tier_shows_the_new_deposit_and_shortfall(client, operations):
    merchant = merchant_in_state("live")  # core, ¥50,000 paid
    client.force_login(operations)
    page = client.get(action_url(merchant, "change_tier"))
    assert page.status_code == 200
    assert "<h2>Deposit</h2>" in page.content.decode()
    assert [(r["tier"].code, r["shortfall"]) for r in page.context["tiers"]] == [
        ("core", Decimal("0.00")),
        ("potential", Decimal("0.00")),
        ("strategic", Decimal("50000.00")),
    ]
    response = client.post(action_url(merchant, "change_tier"), {"tier": tier("strategic").pk, "reason": "Listed"})
    assert response.status_code == 302
    assert Merchant.objects.get(pk=merchant.pk).tier.code == "strategic"
    assert last_event(merchant) == ("merchant.tier_changed", operations, "Listed")
    assert messages_of(response) == [
        (
            "success",
            f"“Bright Home” is now in tier “{tier('strategic').name}”. "
            "Deposit: balance ¥50,000.00, required ¥100,000.00, shortfall ¥50,000.00.",
        )
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"tier": "strategic", "reason": ""}, {"reason": ["This field is required."]}),
        ({"tier": "core", "reason": "Again"}, {"tier": ["The merchant is already in this tier."]}),
    ],
)
def test_change_tier_refusals_change_nothing(client, operations, data, errors):
    merchant = merchant_in_state("live")
    before = snapshot(merchant)
    client.force_login(operations)
    response = client.post(action_url(merchant, "change_tier"), {**data, "tier": tier(data["tier"]).pk})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot(merchant) == before


# --- Deposit actions ---------------------------------------------------------------------


def test_record_deposit_payment_moves_to_deposit_paid(client, finance):
    merchant = merchant_in_state("contract_signed")
    client.force_login(finance)
    assert selectors.deposit_balance(merchant) == Decimal("0.00")
    assert client.get(action_url(merchant, "record_deposit")).status_code == 200
    response = client.post(action_url(merchant, "record_deposit"), {"amount": "20000.00", "reference": "ICBC-001"})
    assert response.status_code == 302
    assert selectors.deposit_balance(merchant) == Decimal("20000.00")
    assert Merchant.objects.get(pk=merchant.pk).status == "contract_signed"
    assert messages_of(response) == [
        (
            "success",
            "Recorded ¥20,000.00 (ICBC-001). Deposit: balance ¥20,000.00, required ¥50,000.00, shortfall ¥30,000.00.",
        )
    ]

    client.post(action_url(merchant, "record_deposit"), {"amount": "30000.00", "reference": "ICBC-002"})
    assert selectors.deposit_balance(merchant) == Decimal("50000.00")
    assert Merchant.objects.get(pk=merchant.pk).status == "deposit_paid"
    assert list(DepositEntry.objects.filter(merchant=merchant).values_list("kind", "amount", "created_by")) == [
        ("paid", Decimal("20000.00"), finance.pk),
        ("topped_up", Decimal("30000.00"), finance.pk),
    ]
    assert [e.action for e in selectors.merchant_history(merchant)[:2]] == [
        "merchant.deposit_paid",
        "merchant.deposit_topped_up",
    ]


def test_record_deposit_with_a_reused_reference_changes_nothing(client, finance):
    merchant = merchant_in_state("contract_signed")
    client.force_login(finance)
    client.post(action_url(merchant, "record_deposit"), {"amount": "20000.00", "reference": "ICBC-001"})
    before = snapshot(merchant)
    response = client.post(action_url(merchant, "record_deposit"), {"amount": "10000.00", "reference": "ICBC-001"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reference": ["This reference was already used for another amount."]}
    assert snapshot(merchant) == before


def test_record_deposit_in_the_wrong_state_changes_nothing(client, finance):
    merchant = merchant_in_state("under_review")
    before = snapshot(merchant)
    client.force_login(finance)
    response = client.post(action_url(merchant, "record_deposit"), {"amount": "50000.00", "reference": "ICBC-9"})
    assert response.status_code == 302
    assert messages_of(response) == [
        ("error", "A deposit is paid after the contract is signed, and not after termination.")
    ]
    assert snapshot(merchant) == before


def test_deduct_from_the_deposit(client, finance):
    merchant = merchant_in_state("live")
    client.force_login(finance)
    response = client.post(
        action_url(merchant, "deduct_deposit"),
        {"amount": "1200.50", "reason": "Counterfeit compensation", "reference": "CASE-17"},
    )
    assert response.status_code == 302
    assert selectors.deposit_balance(merchant) == Decimal("48799.50")
    entry = DepositEntry.objects.get(merchant=merchant, kind="deducted")
    assert (entry.amount, entry.reference, entry.reason) == (Decimal("-1200.50"), "CASE-17", "Counterfeit compensation")
    assert last_event(merchant) == ("merchant.deposit_deducted", finance, "Counterfeit compensation")
    assert messages_of(response) == [
        (
            "success",
            "Deducted ¥1,200.50. Deposit: balance ¥48,799.50, required ¥50,000.00, shortfall ¥1,200.50.",
        )
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"amount": "50000.01", "reason": "Too much", "reference": "CASE-1"},
            {"amount": ["The deposit holds only ¥50000.00."]},
        ),
        ({"amount": "100.00", "reason": "", "reference": "CASE-2"}, {"reason": ["This field is required."]}),
        (
            {"amount": "0", "reason": "Zero", "reference": "CASE-3"},
            {"amount": ["Ensure this value is greater than or equal to 0.01."]},
        ),
    ],
)
def test_deduct_refusals_change_nothing(client, finance, data, errors):
    merchant = merchant_in_state("live")
    before = snapshot(merchant)
    client.force_login(finance)
    response = client.post(action_url(merchant, "deduct_deposit"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot(merchant) == before
    assert selectors.deposit_balance(merchant) == Decimal("50000.00")


def test_refund_the_deposit_after_termination(client, finance):
    merchant = merchant_in_state("terminated")
    client.force_login(finance)
    assert selectors.deposit_balance(merchant) == Decimal("50000.00")
    response = client.post(action_url(merchant, "refund_deposit"), {"reference": "OUT-77"})
    assert response.status_code == 302
    assert selectors.deposit_balance(merchant) == Decimal("0.00")
    entry = DepositEntry.objects.get(merchant=merchant, kind="refunded")
    assert (entry.amount, entry.reference) == (Decimal("-50000.00"), "OUT-77")
    assert messages_of(response) == [
        (
            "success",
            "Refunded ¥50,000.00 (OUT-77). Deposit: balance ¥0.00, required ¥50,000.00, shortfall ¥50,000.00.",
        )
    ]


def test_refund_before_termination_changes_nothing(client, finance):
    merchant = merchant_in_state("live")
    before = snapshot(merchant)
    client.force_login(finance)
    response = client.get(action_url(merchant, "refund_deposit"))
    assert response.status_code == 302
    assert messages_of(response) == [("error", "“Refund deposit” is not possible while the merchant is “Live”.")]
    client.get(change_url(merchant))  # shows the message
    response = client.post(action_url(merchant, "refund_deposit"), {"reference": "OUT-1"})
    assert response.status_code == 302
    assert messages_of(response) == [("error", "The deposit is refunded only after termination.")]
    assert snapshot(merchant) == before


# --- Category grants ---------------------------------------------------------------------


def test_edit_category_grants(client, reviewer):
    tea = category("Tea")
    merchant = merchant_in_state("live")
    appliances = merchant.requested_category_ids[0]
    client.force_login(reviewer)
    page = client.get(action_url(merchant, "category_grants"))
    assert page.context["form"]["categories"].initial == [appliances]
    response = client.post(action_url(merchant, "category_grants"), {"categories": [tea.pk]})
    assert response.status_code == 302
    assert list(CategoryGrant.objects.filter(merchant=merchant).values_list("category_id", flat=True)) == [tea.pk]
    scope, entry = selectors.merchant_history(merchant)[:2]
    assert (entry.action, entry.actor, entry.data) == (
        "catalog.category_grants_changed",
        reviewer,
        {"added": [tea.pk], "removed": [appliances]},
    )
    # The contract's scope follows in the same transaction (issue #15), the old one kept as a version.
    contract = selectors.current_contract(merchant)
    assert (contract.category_ids, contract.version) == ([tea.pk], 2)
    assert contract.versions.get().terms["category_ids"] == [appliances]
    assert (scope.action, scope.data) == (
        "merchant.contract_scope_changed",
        {"contract": contract.number, "from": [appliances], "to": [tea.pk], "version": 2},
    )


# --- Permissions -------------------------------------------------------------------------

ALL_ACTIONS = [
    # action, state it is allowed from, valid data, group lacking the permission
    ("start_review", "submitted", {}, "finance"),
    ("approve", "under_review", {"tier": "core"}, "finance"),
    ("reject", "under_review", {"reason": "No"}, "finance"),
    ("request_changes", "under_review", {"reason": "More"}, "finance"),
    ("suspend", "live", {"reason": "Fake shipping"}, "finance"),
    ("reinstate", "suspended", {"reason": "Fixed"}, "finance"),
    ("terminate", "live", {"reason": "Breach"}, "finance"),
    ("change_tier", "live", {"tier": "strategic", "reason": "Listed"}, "finance"),
    ("record_deposit", "contract_signed", {"amount": "50000.00", "reference": "B-1"}, "reviewer"),
    ("deduct_deposit", "live", {"amount": "1.00", "reason": "Fine", "reference": "C-1"}, "operations"),
    ("refund_deposit", "terminated", {"reference": "R-1"}, "reviewer"),
    ("category_grants", "live", {"categories": []}, "operations"),  # withdraws the grants of the approval
]


def _data(data: dict, merchant) -> dict:
    values = {"tier": lambda v: tier(v).pk}
    return {k: values.get(k, lambda v: v)(v) for k, v in data.items()}


@pytest.mark.parametrize(("action", "state", "data", "lacking"), ALL_ACTIONS)
def test_non_staff_users_are_sent_to_the_admin_login(client, action, state, data, lacking):
    merchant = merchant_in_state(state)
    before = snapshot(merchant)
    client.force_login(merchant.owner)
    url = action_url(merchant, action)
    for response in (client.get(url), client.post(url, _data(data, merchant))):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={url}"
    client.logout()
    assert client.post(url, _data(data, merchant)).status_code == 302
    assert snapshot(merchant) == before


@pytest.mark.parametrize(("action", "state", "data", "lacking"), ALL_ACTIONS)
def test_staff_without_the_permission_get_403(client, action, state, data, lacking):
    merchant = merchant_in_state(state)
    before = snapshot(merchant)
    for user in (staff(lacking), UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(action_url(merchant, action)).status_code == 403
        assert client.post(action_url(merchant, action), _data(data, merchant)).status_code == 403
    assert snapshot(merchant) == before


def test_actions_need_the_csrf_token(reviewer):
    merchant = merchant_in_state("under_review")
    before = snapshot(merchant)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reviewer)
    assert client.post(action_url(merchant, "reject"), {"reason": "No"}).status_code == 403
    assert snapshot(merchant) == before


@pytest.mark.parametrize(("action", "state", "data", "lacking"), ALL_ACTIONS)
def test_a_superuser_can_run_every_action(client, action, state, data, lacking):
    merchant = merchant_in_state(state)
    before = snapshot(merchant)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(action_url(merchant, action)).status_code == 200
    response = client.post(action_url(merchant, action), _data(data, merchant))
    assert response.status_code == 302
    assert [level for level, _text in messages_of(response)] == ["success"]
    assert snapshot(merchant)["history"] != before["history"]


# --- Tiers, holidays, deposit ledger -------------------------------------------------------


def _tier_form(t: Tier, **changes) -> dict:
    data = {
        "name": t.name,
        "deposit_amount": str(t.deposit_amount),
        "commission_plan": t.commission_plan,
        "position": t.position,
        "entry_criteria": t.entry_criteria,
        "min_monthly_gmv": "" if t.min_monthly_gmv is None else str(t.min_monthly_gmv),
        "min_sku_coverage_pct": t.min_sku_coverage_pct or "",
        "min_annual_growth_pct": t.min_annual_growth_pct or "",
        "min_contract_years": t.min_contract_years or "",
        "benefits": t.benefits,
    }
    return {**data, **changes}


@pytest.mark.parametrize("amount", ["19999.99", "100000.01", "150000"])
def test_tier_admin_refuses_a_deposit_out_of_range(client, operations, amount):
    core = tier("core")
    client.force_login(operations)
    response = client.post(
        reverse("admin:merchants_tier_change", args=[core.pk]), _tier_form(core, deposit_amount=amount)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "deposit_amount": ["The deposit must be between ¥20,000.00 and ¥100,000.00."]
    }
    assert Tier.objects.get(pk=core.pk).deposit_amount == Decimal("50000.00")


def test_tier_admin_saves_a_deposit_in_range(client, operations):
    core = tier("core")
    client.force_login(operations)
    response = client.post(
        reverse("admin:merchants_tier_change", args=[core.pk]),
        _tier_form(core, deposit_amount="60000.00", name="Core partner"),
    )
    assert response.status_code == 302
    core.refresh_from_db()
    assert (core.name, core.deposit_amount, core.code) == ("Core partner", Decimal("60000.00"), "core")


def test_tiers_cannot_be_added_or_deleted(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:merchants_tier_add")).status_code == 403
    assert (
        client.post(reverse("admin:merchants_tier_delete", args=[tier("core").pk]), {"post": "yes"}).status_code == 403
    )
    assert Tier.objects.count() == 3


def test_public_holiday_admin(client, operations):
    client.force_login(operations)
    response = client.post(reverse("admin:merchants_publicholiday_add"), {"date": "2026-10-01", "name": "National Day"})
    assert response.status_code == 302
    assert services.add_working_days(datetime.date(2026, 9, 30), 1) == datetime.date(2026, 10, 2)


def test_deposit_ledger_admin_is_read_only_and_filters_by_kind(client, finance):
    live = merchant_in_state("live")
    services.deposit_deduct(merchant=live, actor=finance, amount="10.00", reason="Fine", reference="F-1")
    client.force_login(finance)
    response = client.get(reverse("admin:merchants_depositentry_changelist"), {"kind__exact": "deducted"})
    assert response.status_code == 200
    assert [(e.kind, e.amount) for e in response.context["cl"].result_list] == [("deducted", Decimal("-10.00"))]
    entry = DepositEntry.objects.get(kind="deducted")
    assert client.get(reverse("admin:merchants_depositentry_add")).status_code == 403
    assert client.post(reverse("admin:merchants_depositentry_change", args=[entry.pk]), {}).status_code == 403
    assert (
        client.post(reverse("admin:merchants_depositentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert DepositEntry.objects.count() == 2


# --- Catalog -------------------------------------------------------------------------------


def test_category_changelist_shows_the_path(client):
    food = category("Food")
    category("Fresh fruit", parent=food)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:catalog_category_changelist")).content.decode()
    assert "Food › Fresh fruit" in html


def test_category_cannot_be_moved_under_its_own_subcategory(client):
    food = category("Food")
    fruit = category("Fresh fruit", parent=food)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:catalog_category_change", args=[food.pk]),
        # With the rate history inline's management form, as the page posts it: the service that
        # refuses the loop is called once the whole page is valid.
        {
            "name": "Food",
            "slug": food.slug,
            "parent": fruit.pk,
            "commission_rate": "0.1000",
            "position": 0,
            "rate_changes-TOTAL_FORMS": "0",
            "rate_changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "parent": ["A category cannot be placed under itself or one of its subcategories."]
    }
    assert Category.objects.get(pk=food.pk).parent_id is None


def test_category_grant_admin_is_read_only(client, reviewer):
    merchant = merchant_in_state("live")
    grant = CategoryGrant.objects.get(merchant=merchant)
    client.force_login(reviewer)
    assert client.get(reverse("admin:catalog_categorygrant_changelist")).status_code == 200
    assert client.get(reverse("admin:catalog_categorygrant_add")).status_code == 403
    assert (
        client.post(reverse("admin:catalog_categorygrant_delete", args=[grant.pk]), {"post": "yes"}).status_code == 403
    )
    assert CategoryGrant.objects.filter(pk=grant.pk).exists()
