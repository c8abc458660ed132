"""The merchant's own changes after approval (issue #15) through the portal, the admin and the
API: flows with exact values, refusals that change nothing, and who may reach each page."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import CategoryGrant
from merchants import selectors, services
from merchants.choices import AmendmentStatus, ChangeStatus, DocumentStatus, MerchantStatus
from merchants.models import BankAccountChange, Contract, ContractAmendment, Merchant, MerchantDocument, MerchantMember
from tests.factories import UserFactory
from tests.merchants.factories import category, merchant_in_state, pdf_upload, png_upload, tier

pytestmark = pytest.mark.django_db

NEW = {"bank_account_name": "Bright Home Ltd", "bank_name": "CMB Hangzhou", "bank_account_number": "6214830012345678"}
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def staff(*groups: str):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def history(merchant) -> list[int]:
    return list(selectors.merchant_history(merchant).values_list("seq", flat=True))


@pytest.fixture
def live():
    return merchant_in_state(MerchantStatus.LIVE)


def _expiring(merchant, days=5) -> MerchantDocument:
    document = merchant.documents.get(kind="business_licence")
    MerchantDocument.objects.filter(pk=document.pk).update(expires_on=timezone.localdate() + datetime.timedelta(days))
    document.refresh_from_db()
    return document


# --- Bank account: portal -----------------------------------------------------------------------


def test_owner_asks_for_a_new_account_in_the_portal(client, live):
    client.force_login(live.owner)
    page = client.get("/portal/bank-account/")
    assert page.status_code == 200
    assert "****7890" in page.content.decode() or "7890" in page.content.decode()
    response = client.post("/portal/bank-account/", {**NEW, "bank_account_number": "6214 8300 1234 5678"})
    assert response.status_code == 302
    assert messages_of(response) == [("success", "Your new bank account is waiting for verification by finance.")]
    change = BankAccountChange.objects.get()
    assert (change.merchant, change.status, change.bank_account_number, change.requested_by) == (
        live,
        ChangeStatus.PENDING,
        "6214830012345678",
        live.owner,
    )
    page = client.get("/portal/bank-account/").content.decode()
    assert "is waiting for verification by finance" in page
    assert "6214830012345678" not in page  # never the full number in the portal
    assert Merchant.objects.get(pk=live.pk).bank_account_number == "6222021234567890"


def test_finance_member_may_change_the_account_other_roles_not(client, live):
    finance_member = member(live, "finance")
    client.force_login(finance_member)
    assert client.post("/portal/bank-account/", NEW).status_code == 302
    assert BankAccountChange.objects.get().requested_by == finance_member
    for role in ("catalog", "orders"):
        client.force_login(member(live, role))
        assert client.get("/portal/bank-account/").status_code == 404
        assert client.post("/portal/bank-account/", {**NEW, "bank_name": "Other"}).status_code == 404
    assert BankAccountChange.objects.count() == 1


def test_bad_bank_input_is_a_400_and_nothing_is_written(client, live):
    client.force_login(live.owner)
    before = history(live)
    response = client.post("/portal/bank-account/", {**NEW, "bank_account_number": "12ab"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"bank_account_number": ["A bank account number has 8 to 30 digits."]}
    response = client.post(
        "/portal/bank-account/",
        {
            "bank_account_name": live.bank_account_name,
            "bank_name": live.bank_name,
            "bank_account_number": "6222021234567890",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["This is already your bank account."]
    assert BankAccountChange.objects.count() == 0
    assert history(live) == before


def test_an_applicant_cannot_change_the_account_here(client):
    applicant = merchant_in_state(MerchantStatus.SUBMITTED)
    client.force_login(applicant.owner)
    page = client.get("/portal/bank-account/")
    assert page.status_code == 200
    assert page.context["can_change"] is False
    assert client.post("/portal/bank-account/", NEW).status_code == 400
    assert BankAccountChange.objects.count() == 0


def test_bank_account_page_for_anonymous_buyers_and_staff(client):
    assert client.get("/portal/bank-account/")["Location"].startswith("/accounts/login/")
    for user in (UserFactory(), staff("finance")):
        client.force_login(user)
        assert client.get("/portal/bank-account/").status_code == 404


# --- Bank account: admin --------------------------------------------------------------------------


def _change(merchant) -> BankAccountChange:
    return services.bank_change_request(merchant=merchant, actor=merchant.owner, **NEW)


def test_finance_approves_in_the_admin_with_the_full_number(client, live):
    change = _change(live)
    finance = staff("finance")
    client.force_login(finance)
    listing = client.get(reverse("admin:merchants_bankaccountchange_changelist"))
    assert listing.status_code == 200
    assert "6214830012345678" in listing.content.decode()
    page = client.get(reverse("admin:merchants_bankaccountchange_change", args=[change.pk])).content.decode()
    assert "6214830012345678" in page and "6222021234567890" in page
    response = client.post(reverse("admin:merchants_bankaccountchange_approve", args=[change.pk]), {})
    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", f"The new bank account of “{live}” is verified; payouts use it from now on.")
    ]
    assert Merchant.objects.get(pk=live.pk).bank_account_number == "6214830012345678"
    assert BankAccountChange.objects.get(pk=change.pk).decided_by == finance


def test_finance_refuses_with_a_reason(client, live):
    change = _change(live)
    client.force_login(staff("finance"))
    url = reverse("admin:merchants_bankaccountchange_refuse", args=[change.pk])
    assert client.post(url, {"reason": ""}).status_code == 200  # the form asks for it
    assert BankAccountChange.objects.get(pk=change.pk).status == ChangeStatus.PENDING
    assert client.post(url, {"reason": "Holder differs"}).status_code == 302
    refused = BankAccountChange.objects.get(pk=change.pk)
    assert (refused.status, refused.reason) == (ChangeStatus.REFUSED, "Holder differs")
    assert Merchant.objects.get(pk=live.pk).bank_account_number == "6222021234567890"


@pytest.mark.parametrize(("group", "view", "decide"), [("reviewer", 403, 403), ("operations", 403, 403)])
def test_other_staff_neither_see_nor_decide_bank_changes(client, live, group, view, decide):
    change = _change(live)
    client.force_login(staff(group))
    assert client.get(reverse("admin:merchants_bankaccountchange_changelist")).status_code == view
    assert client.post(reverse("admin:merchants_bankaccountchange_approve", args=[change.pk]), {}).status_code == decide
    assert BankAccountChange.objects.get(pk=change.pk).status == ChangeStatus.PENDING
    assert Merchant.objects.get(pk=live.pk).bank_account_number == "6222021234567890"


def test_staff_without_view_bank_account_see_it_masked(client, live):
    change = _change(live)
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_bankaccountchange"))
    client.force_login(viewer)
    page = client.get(reverse("admin:merchants_bankaccountchange_change", args=[change.pk])).content.decode()
    assert "6214830012345678" not in page and "5678" in page
    assert "6222021234567890" not in page


# --- Bank account: API ------------------------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def test_api_bank_change(live):
    response = api(live.owner).post("/api/v1/merchants/me/bank-account-changes/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["bank_name"], body["bank_account_number"], body["decided_at"]) == (
        "pending",
        "CMB Hangzhou",
        mask_of("6214830012345678"),
        None,
    )
    again = api(live.owner).post("/api/v1/merchants/me/bank-account-changes/", NEW, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "bank_change_pending")
    listing = api(live.owner).get("/api/v1/merchants/me/bank-account-changes/")
    assert [c["id"] for c in listing.json()] == [body["id"]]


def mask_of(number: str) -> str:
    from marketplace.crypto import mask

    return mask(number)


def test_api_bank_change_refusals_write_nothing(live):
    bad = api(live.owner).post(
        "/api/v1/merchants/me/bank-account-changes/", {**NEW, "bank_account_number": "1"}, format="json"
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_bank_account")
    assert bad.json()["extra"]["fields"] == {"bank_account_number": ["A bank account number has 8 to 30 digits."]}
    missing = api(live.owner).post("/api/v1/merchants/me/bank-account-changes/", {"bank_name": "X"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "validation_error")
    assert api().get("/api/v1/merchants/me/bank-account-changes/").status_code == 401
    for user in (UserFactory(), member(live, "catalog"), staff("finance")):
        response = api(user).post("/api/v1/merchants/me/bank-account-changes/", NEW, format="json")
        assert response.status_code == 404
    assert BankAccountChange.objects.count() == 0


# --- Renewed documents ------------------------------------------------------------------------------


def test_owner_renews_an_expiring_document_and_a_reviewer_accepts(client, live):
    old = _expiring(live, days=-2)
    client.force_login(live.owner)
    page = client.get("/portal/documents/renewals/")
    assert page.status_code == 200
    assert [row["renewable"] for row in page.context["rows"]] == [True]
    expiry = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    response = client.post(f"/portal/documents/{old.pk}/renew/", {"file": pdf_upload(), "expires_on": expiry})
    assert response.status_code == 302
    renewal = MerchantDocument.objects.get(renews=old)
    assert (renewal.status, renewal.content_type, renewal.expires_on.isoformat()) == (
        DocumentStatus.PENDING,
        "application/pdf",
        expiry,
    )
    assert client.get("/portal/documents/renewals/").context["rows"][0]["renewal_pending"] is True
    reviewer = staff("reviewer")
    client.force_login(reviewer)
    assert client.get(reverse("admin:merchants_merchantdocument_change", args=[renewal.pk])).status_code == 200
    response = client.post(reverse("admin:merchants_merchantdocument_accept_renewal", args=[renewal.pk]), {})
    assert response.status_code == 302
    assert MerchantDocument.objects.get(pk=renewal.pk).status == DocumentStatus.CURRENT
    assert MerchantDocument.objects.get(pk=old.pk).status == DocumentStatus.REPLACED
    assert Merchant.objects.get(pk=live.pk).has_expired_documents is False


def test_renewal_refused_in_the_admin(client, live):
    old = _expiring(live)
    renewal = services.document_renew(
        merchant=live,
        actor=live.owner,
        document=old,
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=100),
    )
    client.force_login(staff("reviewer"))
    response = client.post(
        reverse("admin:merchants_merchantdocument_refuse_renewal", args=[renewal.pk]), {"reason": "Blurred"}
    )
    assert response.status_code == 302
    assert MerchantDocument.objects.get(pk=renewal.pk).review_reason == "Blurred"
    client.force_login(live.owner)
    assert "Blurred" in client.get("/portal/documents/renewals/").content.decode()


def test_bad_renewals_are_400_and_write_nothing(client, live):
    old = _expiring(live)
    client.force_login(live.owner)
    count, before = MerchantDocument.objects.count(), history(live)
    future = (timezone.localdate() + datetime.timedelta(days=100)).isoformat()
    fake = SimpleUploadedFile("licence.png", EXE, content_type="image/png")
    response = client.post(f"/portal/documents/{old.pk}/renew/", {"file": fake, "expires_on": future})
    assert response.status_code == 400
    response = client.post(f"/portal/documents/{old.pk}/renew/", {"file": png_upload()})
    assert response.status_code == 400
    assert "Give the expiry date of the renewed document." in response.content.decode()
    assert MerchantDocument.objects.count() == count
    assert history(live) == before


def test_another_merchants_document_is_404(client, live):
    other = merchant_in_state(MerchantStatus.LIVE)
    theirs = _expiring(other)
    client.force_login(live.owner)
    future = (timezone.localdate() + datetime.timedelta(days=100)).isoformat()
    response = client.post(f"/portal/documents/{theirs.pk}/renew/", {"file": png_upload(), "expires_on": future})
    assert response.status_code == 404
    assert not MerchantDocument.objects.filter(renews=theirs).exists()


def test_documents_pages_permissions(client, live):
    old = _expiring(live)
    future = (timezone.localdate() + datetime.timedelta(days=100)).isoformat()
    assert client.get("/portal/documents/renewals/")["Location"].startswith("/accounts/login/")
    for user in (UserFactory(), member(live, "finance"), member(live, "catalog"), staff("reviewer")):
        client.force_login(user)
        assert client.get("/portal/documents/renewals/").status_code == 404
        assert (
            client.post(f"/portal/documents/{old.pk}/renew/", {"file": png_upload(), "expires_on": future}).status_code
            == 404
        )
    renewal = services.document_renew(
        merchant=live,
        actor=live.owner,
        document=old,
        uploaded=png_upload(),
        expires_on=timezone.localdate() + datetime.timedelta(days=100),
    )
    for group in ("finance", "operations"):
        client.force_login(staff(group))
        response = client.post(reverse("admin:merchants_merchantdocument_accept_renewal", args=[renewal.pk]), {})
        assert response.status_code == 403
    assert MerchantDocument.objects.get(pk=renewal.pk).status == DocumentStatus.PENDING


# --- Contract amendments ------------------------------------------------------------------------------


def test_operations_propose_and_the_owner_accepts_in_the_portal(client, live):
    kitchen = category("Kitchen")
    operations = staff("operations")
    client.force_login(operations)
    url = reverse("admin:merchants_merchant_propose_amendment", args=[live.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "change_categories": "on",
            "categories": [kitchen.pk],
            "sales_regions": ["north"],
            "settlement_days": "10",
            "reason": "New season",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else None
    amendment = ContractAmendment.objects.get()
    assert (amendment.category_ids, amendment.sales_regions, amendment.settlement_days, amendment.tier) == (
        [kitchen.pk],
        ["north"],
        10,
        None,
    )
    client.force_login(live.owner)
    page = client.get("/portal/contract/").content.decode()
    assert "New season" in page and "Accept the amendment" in page
    response = client.post(f"/portal/amendments/{amendment.pk}/accept/")
    assert response.status_code == 302
    assert messages_of(response) == [("success", "Amendment accepted: the new terms apply now.")]
    contract = selectors.current_contract(live)
    assert (contract.category_ids, contract.sales_regions, contract.settlement_days, contract.version) == (
        [kitchen.pk],
        ["north"],
        10,
        2,
    )
    # The selling categories follow the amended scope.
    assert list(CategoryGrant.objects.filter(merchant=live).values_list("category_id", flat=True)) == [kitchen.pk]
    page = client.get("/portal/contract/").content.decode()
    assert "Kitchen" in page and "Earlier terms" in page


def test_invalid_amendment_form_writes_nothing(client, live):
    client.force_login(staff("operations"))
    url = reverse("admin:merchants_merchant_propose_amendment", args=[live.pk])
    before = history(live)
    response = client.post(url, {"tier": tier("strategic").pk, "reason": "Upgrade"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"end_date": ["A strategic contract runs at least 3 years."]}
    response = client.post(url, {"reason": "Nothing"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Change at least one term."]
    assert ContractAmendment.objects.count() == 0
    assert history(live) == before


def test_owner_declines(client, live):
    amendment = services.amendment_propose(
        contract=selectors.current_contract(live), actor=staff("operations"), reason="x", settlement_days=30
    )
    client.force_login(live.owner)
    response = client.post(f"/portal/amendments/{amendment.pk}/decline/", {"reason": "Too long"})
    assert response.status_code == 302
    declined = ContractAmendment.objects.get(pk=amendment.pk)
    assert (declined.status, declined.decline_reason) == (AmendmentStatus.DECLINED, "Too long")
    assert selectors.current_contract(live).settlement_days == 15


def test_amendment_pages_permissions(client, live):
    amendment = services.amendment_propose(
        contract=selectors.current_contract(live), actor=staff("operations"), reason="x", settlement_days=30
    )
    other = merchant_in_state(MerchantStatus.LIVE)
    urls = [f"/portal/amendments/{amendment.pk}/accept/", f"/portal/amendments/{amendment.pk}/decline/"]
    for url in urls:
        assert client.post(url)["Location"].startswith("/accounts/login/")
    for user in (UserFactory(), other.owner, member(live, "finance"), member(live, "catalog"), staff("operations")):
        client.force_login(user)
        for url in urls:
            assert client.post(url).status_code == 404, (user, url)
        client.logout()
    client.force_login(live.owner)
    assert client.get(urls[0]).status_code == 405
    assert ContractAmendment.objects.get(pk=amendment.pk).status == AmendmentStatus.PROPOSED
    # Only operations propose.
    for group in ("reviewer", "finance"):
        client.force_login(staff(group))
        url = reverse("admin:merchants_merchant_propose_amendment", args=[live.pk])
        assert client.post(url, {"settlement_days": "7", "reason": "x"}).status_code == 403
    client.force_login(staff("reviewer"))
    assert client.get(reverse("admin:merchants_contractamendment_changelist")).status_code == 200
    client.force_login(staff("finance"))
    assert client.get(reverse("admin:merchants_contractamendment_changelist")).status_code == 403
    assert ContractAmendment.objects.count() == 1


def test_the_portal_shows_the_scope_staff_set(client, live):
    """Editing a merchant's categories in the admin changes its contract scope: never stale."""
    tea = category("Tea")
    client.force_login(staff("reviewer"))
    url = reverse("admin:merchants_merchant_category_grants", args=[live.pk])
    assert client.post(url, {"categories": [tea.pk]}).status_code == 302
    client.force_login(live.owner)
    page = client.get("/portal/contract/")
    assert page.context["categories"] == ["Tea"]
    assert Contract.objects.get(merchant=live).category_ids == [tea.pk]
