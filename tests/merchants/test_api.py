"""The merchants REST API: applications, review, the caller's merchant, public shops."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from catalog.models import Category, CategoryGrant
from marketplace.models import AuditLogEntry
from merchants import selectors, services
from merchants.choices import MerchantStatus
from merchants.models import Contract, Merchant, MerchantDocument
from tests.factories import UserFactory, no_decoding, png_bomb
from tests.merchants.factories import (
    PDF_BYTES,
    VALID_ID_NUMBER,
    category,
    merchant_in_state,
    pdf_upload,
    png_upload,
    tier,
    valid_uscc,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/merchants/"
APPLICATIONS = BASE + "applications/"
ME = BASE + "me/"
BANK_NUMBER = "6222021234567890"
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def client_for(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def url(merchant, suffix="") -> str:
    return f"{APPLICATIONS}{merchant.pk}/{suffix}"


def payload(**overrides) -> dict:
    data = {
        "company_name": "Hangzhou Bright Home Co., Ltd.",
        "shop_name": "Bright Home",
        "social_credit_code": valid_uscc(),
        "legal_rep_name": "Chen Ming",
        "legal_rep_id_number": VALID_ID_NUMBER,
        "contact_name": "Liu Yang",
        "contact_phone": "13912345678",
        "contact_email": "contact@brighthome.example.com",
        "sales_regions": ["east", "south"],
        "cooperation_mode": "platform_entry",
        "requested_tier": "core",
        "bank_account_name": "Hangzhou Bright Home Co., Ltd.",
        "bank_name": "ICBC Hangzhou",
        "bank_account_number": "6222 0212 3456 7890",
    }
    data.update(overrides)
    return data


def snapshot(merchant) -> dict:
    """Everything a refused call must leave as it was."""
    row = Merchant.objects.get(pk=merchant.pk)
    return {
        "status": row.status,
        "status_reason": row.status_reason,
        "shop_name": row.shop_name,
        "updated_at": row.updated_at,
        "tier": row.tier_id,
        "documents": sorted(MerchantDocument.objects.filter(merchant=row).values_list("pk", flat=True)),
        "contracts": Contract.objects.filter(merchant=row).count(),
        "grants": CategoryGrant.objects.filter(merchant=row).count(),
        "audit": AuditLogEntry.objects.count(),
        "merchants": Merchant.objects.count(),
    }


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT / "private"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staff_in(*groups: str, **fields):
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def staff_user(db):
    """Here, staff means a reviewer: the role whose declarations allow the review actions."""
    return staff_in("reviewer", email="staff@example.com")


@pytest.fixture
def cast(buyer, staff_user):
    """The callers of the permission matrix; `owner` owns the merchant under test. Besides the
    reviewer (`staff`): staff of no group (`plain_staff`) and finance, who may read
    applications but not review them."""
    other = merchant_in_state(MerchantStatus.DRAFT, owner=UserFactory(email="other@example.com"))
    return SimpleNamespace(
        anonymous=None,
        buyer=buyer,
        other_owner=other.owner,
        owner=UserFactory(email="owner@example.com"),
        staff=staff_user,
        plain_staff=UserFactory(email="plain-staff@example.com", is_staff=True),
        finance=staff_in("finance", email="finance@example.com"),
        other_merchant=other,
    )


# --- Permission matrix ------------------------------------------------------------------

STAFF_REFUSED = {"plain_staff": 403, "finance": 403}
APPLICANT_ONLY = {"anonymous": 401, "buyer": 404, "other_owner": 404, "owner": None, "staff": 403, **STAFF_REFUSED}
STAFF_ONLY = {"anonymous": 401, "buyer": 403, "other_owner": 403, "owner": 403, "staff": None, **STAFF_REFUSED}
# Finance reads applications (merchants.merchant_view) but reviews none of them.
READERS = {
    "anonymous": 401,
    "buyer": 404,
    "other_owner": 404,
    "owner": None,
    "staff": None,
    "plain_staff": 403,
    "finance": None,
}
ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}

# name: (state of the merchant, method, url suffix, body, format, success status, who gets what)
ENDPOINTS = {
    "retrieve": ("draft", "get", "", None, None, 200, READERS),
    "update": ("draft", "patch", "", {"shop_name": "Renamed"}, "json", 200, APPLICANT_ONLY),
    "submit": ("draft", "post", "submit/", None, None, 200, APPLICANT_ONLY),
    "upload": (
        "draft",
        "post",
        "documents/",
        lambda: {"kind": "quality_certification", "file": pdf_upload()},
        "multipart",
        201,
        APPLICANT_ONLY,
    ),
    "remove_document": ("draft", "delete", "documents/{doc}/", None, None, 204, APPLICANT_ONLY),
    "start_review": ("submitted", "post", "start-review/", None, None, 200, STAFF_ONLY),
    "approve": ("submitted", "post", "approve/", {"tier": "core"}, "json", 200, STAFF_ONLY),
    "reject": ("submitted", "post", "reject/", {"reason": "Licence unreadable"}, "json", 200, STAFF_ONLY),
    "request_changes": ("submitted", "post", "request-changes/", {"reason": "Rescan"}, "json", 200, STAFF_ONLY),
}


@pytest.mark.parametrize("role", ["anonymous", "buyer", "other_owner", "owner", "staff", "plain_staff", "finance"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_permission_matrix_on_application_endpoints(cast, endpoint, role):
    state, method, suffix, body, fmt, ok, expected = ENDPOINTS[endpoint]
    merchant = merchant_in_state(state, owner=cast.owner)
    document = merchant.documents.get()
    before = snapshot(merchant)

    response = getattr(client_for(getattr(cast, role)), method)(
        url(merchant, suffix.format(doc=document.pk)), body() if callable(body) else body, format=fmt
    )

    status = expected[role] or ok
    assert response.status_code == status
    if status >= 400:
        assert response.json()["code"] == ERROR_CODES[status]
        assert snapshot(merchant) == before
    elif method != "get":
        assert snapshot(merchant) != before


def test_list_shows_each_caller_only_what_they_may_see(cast):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner)
    other = cast.other_merchant

    def ids(user):
        response = client_for(user).get(APPLICATIONS)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert client_for().get(APPLICATIONS).status_code == 401
    assert ids(cast.buyer) == []
    assert ids(cast.other_owner) == [other.pk]
    assert ids(cast.owner) == [merchant.pk]
    # Staff: every application, the submitted (waiting) ones first, oldest first.
    assert ids(cast.staff) == [merchant.pk, other.pk]
    assert ids(cast.finance) == [merchant.pk, other.pk]
    # Staff whose role does not cover merchants read none of them.
    refused = client_for(cast.plain_staff).get(APPLICATIONS)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("buyer", 201), ("other_owner", 409), ("staff", 201)])
def test_create_permission_matrix(cast, role, status):
    count = Merchant.objects.count()
    response = client_for(getattr(cast, role)).post(APPLICATIONS, payload(), format="json")
    assert response.status_code == status
    if status == 201:
        assert Merchant.objects.count() == count + 1
        assert Merchant.objects.get(pk=response.json()["id"]).owner == getattr(cast, role)
    else:
        assert response.json()["code"] == {401: "not_authenticated", 409: "already_member"}[status]
        assert Merchant.objects.count() == count


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 401), ("buyer", 404), ("other_owner", 200), ("owner", 200), ("staff", 404)]
)
def test_me_permission_matrix(cast, role, status):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    response = client_for(getattr(cast, role)).get(ME)
    assert response.status_code == status
    if status == 200:
        mine = merchant if role == "owner" else cast.other_merchant
        assert response.json()["id"] == mine.pk
    else:
        assert response.json()["code"] == ERROR_CODES[status]


@pytest.mark.parametrize("role", ["anonymous", "buyer", "other_owner", "owner", "staff"])
def test_public_shop_is_open_to_everyone(cast, role):
    merchant = merchant_in_state(MerchantStatus.LIVE, owner=cast.owner)
    response = client_for(getattr(cast, role)).get(f"{BASE}shops/{merchant.slug}/")
    assert response.status_code == 200
    assert response.json()["slug"] == merchant.slug


# --- The applicant's journey -------------------------------------------------------------


def test_apply_upload_submit_and_get_approved(buyer, staff_user):
    lamps, kettles = category("Lamps"), category("Kettles")
    owner = client_for(buyer)
    staff = client_for(staff_user)
    bodies = []

    def call(client, method, path, data=None, fmt="json"):
        response = getattr(client, method)(path, data, format=fmt)
        bodies.append(response.content)
        return response

    created = call(owner, "post", APPLICATIONS, payload(requested_category_ids=[kettles.pk, lamps.pk, lamps.pk]))
    assert created.status_code == 201
    merchant = Merchant.objects.get(owner=buyer)
    code = merchant.social_credit_code
    assert created.json() == {
        "id": merchant.pk,
        "status": "draft",
        "status_reason": "",
        "company_name": "Hangzhou Bright Home Co., Ltd.",
        "shop_name": "Bright Home",
        "social_credit_code": code,
        "legal_rep_name": "Chen Ming",
        "legal_rep_id_number": "•••• 002X",
        "contact_name": "Liu Yang",
        "contact_phone": "13912345678",
        "contact_email": "contact@brighthome.example.com",
        "requested_category_ids": sorted([lamps.pk, kettles.pk]),
        "sales_regions": ["east", "south"],
        "cooperation_mode": "platform_entry",
        "requested_tier": "core",
        "tier": None,
        "sells_manufactured_goods": False,
        "sells_third_party_brands": False,
        "is_cross_border": False,
        "bank_account_name": "Hangzhou Bright Home Co., Ltd.",
        "bank_name": "ICBC Hangzhou",
        "bank_account_number": "•••• 7890",
        "description": "",
        "submitted_at": None,
        "decided_at": None,
        "missing": {"fields": [], "documents": ["business_licence"]},
        "required_documents": ["business_licence"],
        "documents": [],
    }
    assert merchant.bank_account_number == BANK_NUMBER

    # Without the business licence the application cannot go.
    incomplete = call(owner, "post", url(merchant, "submit/"))
    assert incomplete.status_code == 400
    assert incomplete.json()["code"] == "application_incomplete"
    assert incomplete.json()["extra"] == {"fields": [], "documents": ["business_licence"]}
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.DRAFT

    png = call(
        owner,
        "post",
        url(merchant, "documents/"),
        {"kind": "business_licence", "file": png_upload(), "expires_on": "2099-12-31"},
        "multipart",
    )
    assert png.status_code == 201
    licence = MerchantDocument.objects.get(merchant=merchant, kind="business_licence")
    assert png.json() == {
        "id": licence.pk,
        "kind": "business_licence",
        "content_type": "image/png",
        "size": licence.size,
        "expires_on": "2099-12-31",
        "uploaded_at": png.json()["uploaded_at"],
    }
    assert parse_datetime(png.json()["uploaded_at"]) == licence.uploaded_at

    pdf = call(
        owner, "post", url(merchant, "documents/"), {"kind": "quality_certification", "file": pdf_upload()}, "multipart"
    )
    assert pdf.status_code == 201
    assert (pdf.json()["kind"], pdf.json()["content_type"], pdf.json()["size"], pdf.json()["expires_on"]) == (
        "quality_certification",
        "application/pdf",
        len(PDF_BYTES),
        None,
    )

    detail = call(owner, "get", url(merchant))
    assert detail.json()["missing"] == {"fields": [], "documents": []}
    assert sorted(d["kind"] for d in detail.json()["documents"]) == ["business_licence", "quality_certification"]

    submitted = call(owner, "post", url(merchant, "submit/"))
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert parse_datetime(submitted.json()["submitted_at"]) == Merchant.objects.get(pk=merchant.pk).submitted_at

    queue = call(staff, "get", APPLICATIONS + "?status=submitted")
    assert [row["id"] for row in queue.json()["results"]] == [merchant.pk]
    assert call(staff, "post", url(merchant, "start-review/")).json()["status"] == "under_review"

    approved = call(staff, "post", url(merchant, "approve/"), {"tier": "strategic", "reason": "Category leader"})
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["tier"], approved.json()["status_reason"]) == (
        "approved",
        "strategic",
        "Category leader",
    )
    merchant.refresh_from_db()
    assert merchant.tier.code == "strategic"
    contract = Contract.objects.get(merchant=merchant)
    assert (contract.status, contract.commission_plan, contract.category_ids, contract.sales_regions) == (
        "offered",
        "ladder",
        sorted([lamps.pk, kettles.pk]),
        ["east", "south"],
    )
    grants = CategoryGrant.objects.filter(merchant=merchant)
    assert sorted(g.category_id for g in grants) == sorted([lamps.pk, kettles.pk])
    assert {g.granted_by for g in grants} == {staff_user}

    bodies += [call(owner, "get", APPLICATIONS).content, call(owner, "get", ME).content]
    bodies += [call(staff, "get", APPLICATIONS).content, call(staff, "get", url(merchant)).content]
    for body in bodies:
        text = body.decode()
        assert BANK_NUMBER not in text
        assert "6222 0212 3456 7890" not in text
        assert VALID_ID_NUMBER not in text


def test_submit_lists_every_missing_field(buyer):
    client = client_for(buyer)
    merchant_id = client.post(APPLICATIONS, {"company_name": "Tiny Co."}, format="json").json()["id"]
    response = client.post(f"{APPLICATIONS}{merchant_id}/submit/")
    assert response.status_code == 400
    assert response.json() == {
        "code": "application_incomplete",
        "message": "The application is not complete yet: fill in the missing fields and upload the missing documents.",
        "extra": {
            "fields": [
                "social_credit_code",
                "legal_rep_name",
                "legal_rep_id_number",
                "contact_name",
                "contact_phone",
                "contact_email",
                "requested_category_ids",
                "sales_regions",
                "requested_tier",
                "bank_account_name",
                "bank_name",
                "bank_account_number",
            ],
            "documents": ["business_licence"],
        },
    }
    assert Merchant.objects.get(pk=merchant_id).status == MerchantStatus.DRAFT


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"requested_tier": "gold"}, "validation_error", "requested_tier"),
        ({"requested_category_ids": [999999]}, "validation_error", "requested_category_ids"),
        ({"sales_regions": ["atlantis"]}, "validation_error", "sales_regions"),
        ({"contact_email": "not-an-email"}, "validation_error", "contact_email"),
        ({"social_credit_code": "91310000000000001X"}, "invalid_application", "social_credit_code"),
        ({"bank_account_number": "12AB"}, "invalid_application", "bank_account_number"),
        ({"company_name": ""}, "invalid_application", "company_name"),
        # Found by Schemathesis: numbers were taken for strings ("0").
        ({"company_name": 0}, "validation_error", "company_name"),
        ({"shop_name": 12.5}, "validation_error", "shop_name"),
    ],
)
def test_create_refuses_bad_fields_and_creates_nothing(buyer, overrides, code, field):
    response = client_for(buyer).post(APPLICATIONS, payload(**overrides), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert list(response.json()["extra"]["fields"]) == [field]
    assert Merchant.objects.count() == 0
    assert AuditLogEntry.objects.count() == 0


def test_update_changes_an_editable_application(cast):
    merchant = merchant_in_state(MerchantStatus.CHANGES_REQUESTED, owner=cast.owner)
    response = client_for(cast.owner).patch(
        url(merchant),
        {
            "shop_name": "Bright Home Outlet",
            "bank_account_number": "6222 0000 1111 2222",
            "requested_tier": "potential",
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["shop_name"], body["bank_account_number"], body["requested_tier"]) == (
        "Bright Home Outlet",
        "•••• 2222",
        "potential",
    )
    assert "6222000011112222" not in response.content.decode()
    merchant.refresh_from_db()
    assert (merchant.shop_name, merchant.bank_account_number, merchant.requested_tier.code) == (
        "Bright Home Outlet",
        "6222000011112222",
        "potential",
    )


def test_update_is_refused_once_submitted(cast):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner)
    before = snapshot(merchant)
    response = client_for(cast.owner).patch(url(merchant), {"shop_name": "Sneaky"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "application_locked"
    assert response.json()["extra"] == {"status": "submitted"}
    assert snapshot(merchant) == before


def test_executable_renamed_png_is_refused_and_nothing_is_stored(cast, settings):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    before, files = snapshot(merchant), stored_files(settings)
    upload = SimpleUploadedFile("licence.png", EXECUTABLE, content_type="image/png")
    response = client_for(cast.owner).post(
        url(merchant, "documents/"), {"kind": "business_licence", "file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "file_type_not_allowed"
    assert snapshot(merchant) == before
    assert stored_files(settings) == files


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"kind": "business_licence", "expires_on": "2001-01-01"}, 400, "document_expired"),
        ({"kind": "passport"}, 400, "validation_error"),
    ],
)
def test_upload_refusals_store_nothing(cast, settings, data, status, code):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    before, files = snapshot(merchant), stored_files(settings)
    response = client_for(cast.owner).post(
        url(merchant, "documents/"), {**data, "file": png_upload()}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert snapshot(merchant) == before
    assert stored_files(settings) == files


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"kind": "business_licence"}, "image_too_large"),
        # The other fields are checked before the picture is even opened.
        ({"kind": "business_licence", "expires_on": "2001-01-01"}, "document_expired"),
        ({"kind": "passport"}, "validation_error"),
    ],
)
def test_a_12000_by_12000_png_is_refused_before_it_is_decoded(cast, settings, data, code):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    before, files = snapshot(merchant), stored_files(settings)
    upload = SimpleUploadedFile("licence.png", png_bomb(), content_type="image/png")
    with no_decoding() as load:
        response = client_for(cast.owner).post(
            url(merchant, "documents/"), {**data, "file": upload}, format="multipart"
        )
    assert (response.status_code, response.json()["code"]) == (400, code)
    if code == "image_too_large":
        assert response.json()["extra"] == {"max_pixels": 40_000_000}
    assert snapshot(merchant) == before
    assert stored_files(settings) == files
    assert load.call_count == 0


def test_documents_are_locked_after_submission(cast, settings):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner)
    document = merchant.documents.get()
    before, files = snapshot(merchant), stored_files(settings)
    client = client_for(cast.owner)
    added = client.post(url(merchant, "documents/"), {"kind": "other", "file": png_upload()}, format="multipart")
    removed = client.delete(url(merchant, f"documents/{document.pk}/"))
    assert (added.status_code, added.json()["code"]) == (409, "application_locked")
    assert (removed.status_code, removed.json()["code"]) == (409, "application_locked")
    assert snapshot(merchant) == before
    assert stored_files(settings) == files


def test_remove_document_deletes_row_and_file(cast, settings, django_capture_on_commit_callbacks):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    document = merchant.documents.get()
    path = settings.MEDIA_ROOT / "private" / document.file.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.owner).delete(url(merchant, f"documents/{document.pk}/"))
    assert response.status_code == 204
    assert not MerchantDocument.objects.filter(pk=document.pk).exists()
    assert not path.exists()


def test_another_merchants_document_cannot_be_removed_through_my_application(cast):
    merchant = merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner)
    foreign = cast.other_merchant.documents.get()
    before = snapshot(cast.other_merchant)
    response = client_for(cast.owner).delete(url(merchant, f"documents/{foreign.pk}/"))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert snapshot(cast.other_merchant) == before


# --- Review --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["reject/", "request-changes/"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_reject_and_request_changes_need_a_reason(cast, action, body):
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, owner=cast.owner)
    before = snapshot(merchant)
    response = client_for(cast.staff).post(url(merchant, action), body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "reason_required",
        "message": "Give a reason: the merchant will see it.",
        "extra": {},
    }
    assert snapshot(merchant) == before


@pytest.mark.parametrize(
    ("action", "status"),
    [("reject/", "rejected"), ("request-changes/", "changes_requested")],
)
def test_reject_and_request_changes_record_the_reason(
    cast, action, status, mailoutbox, django_capture_on_commit_callbacks
):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.staff).post(url(merchant, action), {"reason": " Licence is blurred "}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == (status, "Licence is blurred")
    merchant.refresh_from_db()
    assert (merchant.status, merchant.status_reason) == (status, "Licence is blurred")
    assert [m.to for m in mailoutbox] == [["contact@brighthome.example.com"]]


@pytest.mark.parametrize(
    ("state", "action", "body"),
    [
        ("draft", "start-review/", None),
        ("under_review", "start-review/", None),
        ("draft", "approve/", {"tier": "core"}),
        ("rejected", "approve/", {"tier": "core"}),
        ("draft", "reject/", {"reason": "No"}),
        ("approved", "reject/", {"reason": "No"}),
        ("changes_requested", "request-changes/", {"reason": "Again"}),
    ],
)
def test_review_in_the_wrong_state_is_a_conflict(cast, state, action, body):
    merchant = merchant_in_state(state, owner=cast.owner)
    before = snapshot(merchant)
    response = client_for(cast.staff).post(url(merchant, action), body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["extra"]["status"] == state
    assert snapshot(merchant) == before


def test_approve_joint_operation_needs_a_revenue_share_rate(cast):
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, owner=cast.owner, cooperation_mode="joint_operation")
    before = snapshot(merchant)
    client = client_for(cast.staff)
    missing = client.post(url(merchant, "approve/"), {"tier": "core"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "revenue_share_rate_required")
    too_high = client.post(url(merchant, "approve/"), {"tier": "core", "revenue_share_rate": "1.5"}, format="json")
    assert (too_high.status_code, too_high.json()["code"]) == (400, "invalid_revenue_share_rate")
    assert snapshot(merchant) == before

    approved = client.post(url(merchant, "approve/"), {"tier": "core", "revenue_share_rate": "0.1200"}, format="json")
    assert approved.status_code == 200
    contract = Contract.objects.get(merchant=merchant)
    assert (contract.revenue_share_rate, contract.franchise_fee) == (Decimal("0.1200"), None)


def test_approve_needs_a_known_tier(cast):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner)
    before = snapshot(merchant)
    for body in ({}, {"tier": "gold"}):
        response = client_for(cast.staff).post(url(merchant, "approve/"), body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert list(response.json()["extra"]["fields"]) == ["tier"]
    assert snapshot(merchant) == before


def test_approve_is_all_or_nothing_with_the_category_grants(cast):
    gone = category("Discontinued")
    merchant = merchant_in_state(MerchantStatus.SUBMITTED, owner=cast.owner, categories=[category("Lamps"), gone])
    Category.objects.filter(pk=gone.pk).delete()
    before = snapshot(merchant)
    response = client_for(cast.staff).post(url(merchant, "approve/"), {"tier": "core"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_categories"
    assert response.json()["extra"] == {"ids": [gone.pk]}
    # The approval and its contract were rolled back with the grants.
    assert snapshot(merchant) == before


def test_staff_list_filters_by_status_oldest_submission_first(staff_user):
    first = merchant_in_state(MerchantStatus.SUBMITTED)
    second = merchant_in_state(MerchantStatus.UNDER_REVIEW)
    draft = merchant_in_state(MerchantStatus.DRAFT)
    client = client_for(staff_user)

    everything = client.get(APPLICATIONS).json()
    assert (everything["count"], [r["id"] for r in everything["results"]]) == (3, [first.pk, second.pk, draft.pk])
    assert [r["id"] for r in client.get(APPLICATIONS, {"status": "under_review"}).json()["results"]] == [second.pk]
    bad = client.get(APPLICATIONS, {"status": "bogus"})
    assert (bad.status_code, bad.json()["code"], list(bad.json()["extra"]["fields"])) == (
        400,
        "validation_error",
        ["status"],
    )


# --- The caller's merchant -----------------------------------------------------------------


def test_me_shows_the_live_merchant_with_deposit_and_contract(cast):
    merchant = merchant_in_state(MerchantStatus.LIVE, owner=cast.owner)
    contract = selectors.current_contract(merchant)
    response = client_for(cast.owner).get(ME)
    assert response.status_code == 200
    body = response.json()
    assert parse_datetime(body.pop("live_since")) == merchant.live_since
    assert body == {
        "id": merchant.pk,
        "status": "live",
        "shop_name": "Bright Home",
        "company_name": "Hangzhou Bright Home Co., Ltd.",
        "slug": merchant.slug,
        "tier": "core",
        "cooperation_mode": "platform_entry",
        "credit_grade": "B",
        "role": "owner",
        "bank_account_name": "Hangzhou Bright Home Co., Ltd.",
        "bank_name": "ICBC Hangzhou",
        "bank_account_number": "•••• 7890",
        "deposit": {"required": "50000.00", "balance": "50000.00", "shortfall": "0.00"},
        "contract": {
            "number": contract.number,
            "status": "accepted",
            "settlement_days": 15,
            "commission_plan": "standard",
            "revenue_share_rate": None,
            "franchise_fee": None,
            "start_date": contract.start_date.isoformat(),
            "end_date": contract.end_date.isoformat(),
            "exclusive": False,
            "category_ids": merchant.requested_category_ids,
            "sales_regions": ["east", "south"],
        },
    }
    assert BANK_NUMBER not in response.content.decode()


def test_me_for_a_draft_shows_the_requested_tiers_deposit(cast):
    merchant_in_state(MerchantStatus.DRAFT, owner=cast.owner, requested_tier=tier("potential"))
    body = client_for(cast.owner).get(ME).json()
    assert (body["status"], body["slug"], body["tier"], body["live_since"], body["contract"]) == (
        "draft",
        None,
        None,
        None,
        None,
    )
    assert body["deposit"] == {"required": "20000.00", "balance": "0.00", "shortfall": "20000.00"}


def test_me_hides_deposit_and_contract_from_a_catalog_member(cast):
    merchant = merchant_in_state(MerchantStatus.LIVE, owner=cast.owner)
    invitation = services.invitation_create(merchant=merchant, actor=cast.owner, email=cast.buyer.email, role="catalog")
    services.invitation_accept(token=invitation.token, user=cast.buyer)
    body = client_for(cast.buyer).get(ME).json()
    assert (body["id"], body["role"], body["deposit"], body["contract"]) == (merchant.pk, "catalog", None, None)
    # Nor may the member read or change the application.
    assert client_for(cast.buyer).get(url(merchant)).status_code == 404
    assert client_for(cast.buyer).get(APPLICATIONS).json()["results"] == []


# --- Public shops -------------------------------------------------------------------------


def test_public_shop_shows_only_public_fields(cast):
    merchant = merchant_in_state(MerchantStatus.LIVE, owner=cast.owner)
    response = client_for().get(f"{BASE}shops/{merchant.slug}/")
    body = response.json()
    assert parse_datetime(body.pop("live_since")) == merchant.live_since
    assert body == {
        "slug": merchant.slug,
        "name": "Bright Home",
        "description": "",
        "logo_url": None,
        "tier": "core",
        "credit_grade": "B",
    }


def test_public_shop_logo_url(cast):
    merchant = merchant_in_state(MerchantStatus.LIVE, owner=cast.owner)
    services.merchant_update_shop(
        merchant=merchant, actor=cast.owner, shop_name="Bright Home", description="Lamps and more", logo=png_upload()
    )
    body = client_for().get(f"{BASE}shops/{merchant.slug}/").json()
    assert (body["logo_url"], body["description"]) == (f"/shops/{merchant.slug}/logo/", "Lamps and more")


@pytest.mark.parametrize("state", ["approved", "suspended"])
def test_shops_that_are_not_live_are_not_found(cast, state):
    merchant = merchant_in_state(state, owner=cast.owner)
    assert merchant.slug
    response = client_for().get(f"{BASE}shops/{merchant.slug}/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert client_for().get(f"{BASE}shops/no-such-shop/").status_code == 404


# --- OpenAPI -------------------------------------------------------------------------------


def test_schema_documents_every_merchants_operation(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    operations = {
        (path, method): sorted(op["responses"])
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/merchants/")
        for method, op in item.items()
    }
    p = "/api/v1/merchants/applications/"
    # Each view's own errors (409, the 403 of staff or applicant actions), plus those of the machinery
    # around it (marketplace.schema.AutoSchema): 400/415 for a body, 401 for a bad token, 403 for a
    # session without its CSRF token, 404 for ids and pages, 429 for throttling.
    assert operations == {
        (p, "get"): ["200", "400", "401", "403", "404", "429"],
        (p, "post"): ["201", "400", "401", "403", "409", "415", "429"],
        (p + "{id}/", "get"): ["200", "401", "403", "404", "429"],
        (p + "{id}/", "patch"): ["200", "400", "401", "403", "404", "409", "415", "429"],
        (p + "{id}/submit/", "post"): ["200", "400", "401", "403", "404", "409", "429"],
        (p + "{id}/documents/", "post"): ["201", "400", "401", "403", "404", "409", "415", "429"],
        (p + "{id}/documents/{doc_id}/", "delete"): ["204", "401", "403", "404", "409", "429"],
        (p + "{id}/start-review/", "post"): ["200", "401", "403", "404", "409", "429"],
        (p + "{id}/approve/", "post"): ["200", "400", "401", "403", "404", "409", "415", "429"],
        (p + "{id}/reject/", "post"): ["200", "400", "401", "403", "404", "409", "415", "429"],
        (p + "{id}/request-changes/", "post"): ["200", "400", "401", "403", "404", "409", "415", "429"],
        ("/api/v1/merchants/me/", "get"): ["200", "401", "404", "429"],
        # Issue #15: the caller's bank account changes.
        ("/api/v1/merchants/me/bank-account-changes/", "get"): ["200", "401", "404", "429"],
        ("/api/v1/merchants/me/bank-account-changes/", "post"): [
            "201",
            "400",
            "401",
            "403",
            "404",
            "409",
            "415",
            "429",
        ],
        ("/api/v1/merchants/shops/{slug}/", "get"): ["200", "401", "404", "429"],
    }
    approve = schema["paths"][p + "{id}/approve/"]["post"]
    assert "`invalid_transition`" in approve["description"]
    assert "multipart/form-data" in schema["paths"][p + "{id}/documents/"]["post"]["requestBody"]["content"]


# --- One permission per review action, in the API and the admin alike ------------------------

REVIEW_ACTIONS = {
    # action: (API url suffix, API body, admin form data, status after)
    "start_review": ("start-review/", None, {}, "under_review"),
    "approve": ("approve/", {"tier": "core"}, lambda: {"tier": tier("core").pk}, "approved"),
    "reject": ("reject/", {"reason": "Licence unreadable"}, {"reason": "Licence unreadable"}, "rejected"),
    "request_changes": ("request-changes/", {"reason": "Rescan"}, {"reason": "Rescan"}, "changes_requested"),
}


@pytest.mark.parametrize(
    ("group", "allowed"), [("reviewer", True), ("operations", True), ("finance", False), (None, False)]
)
@pytest.mark.parametrize("action", list(REVIEW_ACTIONS))
def test_each_review_action_is_allowed_to_the_same_staff_in_the_api_and_the_admin(client, action, group, allowed):
    """Finance may read applications but reviews none: 403 in the API as in the admin, and
    nothing changes; reviewers and operations may, in both."""
    suffix, body, form, after = REVIEW_ACTIONS[action]
    user = staff_in(group) if group else UserFactory(is_staff=True)
    via_api = merchant_in_state(MerchantStatus.SUBMITTED)
    via_admin = merchant_in_state(MerchantStatus.SUBMITTED)
    before = {m.pk: snapshot(m) for m in (via_api, via_admin)}
    audit = AuditLogEntry.objects.count()

    api_response = client_for(user).post(url(via_api, suffix), body, format="json")
    client.force_login(user)
    admin_response = client.post(
        f"/admin/merchants/merchant/{via_admin.pk}/{action}/", form() if callable(form) else form
    )

    if allowed:
        assert (api_response.status_code, admin_response.status_code) == (200, 302)
        assert [m.status for m in Merchant.objects.filter(pk__in=before).order_by("pk")] == [after, after]
    else:
        assert (api_response.status_code, admin_response.status_code) == (403, 403)
        assert api_response.json()["code"] == "permission_denied"
        assert {m.pk: snapshot(m) for m in (via_api, via_admin)} == before
        assert AuditLogEntry.objects.count() == audit
