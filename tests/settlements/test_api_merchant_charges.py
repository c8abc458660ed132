"""The merchant's subsidies, penalties and service fees in the settlements API (issue #14):
what the portal's finance pages show and do, for the owner and finance members only, each
merchant seeing only its own rows (another merchant's ids are 404), every change through
the services (refusals are their codes, and write nothing).

The subsidy figures are those of tests/settlements/test_subsidy_accruals.py: ¥10.00 orders of
`Shop`, ¥0.50 per order shipped with SF (¥1.00 for a fresh product)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from merchants.models import MerchantMember
from settlements import services
from settlements.choices import GrantStatus, PenaltyStatus
from settlements.defaults import ensure_default_charges
from settlements.models import (
    FeeCharge,
    GrantApplication,
    GrantDocument,
    Penalty,
    PenaltyFile,
    Statement,
    Subscription,
    SubscriptionPlan,
    ValueAddedService,
)
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import PDF_BYTES, pdf_upload
from tests.settlements.test_runs import Shop, _refund, _settle, at
from tests.settlements.test_subsidy_accruals import logistics, order
from tests.settlements.test_subsidy_grants import grant_programme

pytestmark = pytest.mark.django_db

API = "/api/v1/settlements/merchant"
ENDPOINTS = [
    "subsidy-accruals",
    "grant-programmes",
    "grant-applications",
    "penalties",
    "fee-charges",
    "subscription-plans",
    "subscriptions",
    "value-added-services",
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ensure_default_charges()


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _as(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def _penalty(merchant, **kwargs):
    return services.penalty_raise(
        merchant=merchant,
        kind="counterfeit",
        amount="1000.00",
        reason="Counterfeit brand goods",
        actor=UserFactory(is_staff=True),
        evidence=[pdf_upload("report.pdf")],
        **kwargs,
    )


def _pdf(name="invoice.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


# --- Who may call what ---------------------------------------------------------------------------


def test_only_the_owner_and_finance_members_reach_the_endpoints_each_seeing_only_its_own(api_client):
    merchant, _c = live_merchant()
    other, _c2 = live_merchant()
    penalty = _penalty(merchant)
    programme = grant_programme()
    application = services.subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Fit-out",
        invoiced_amount="100.00",
        documents=[_pdf()],
    )
    subscription = services.subscription_start(
        merchant=merchant, plan=SubscriptionPlan.objects.get(code="gold"), cycle="monthly", actor=merchant.owner
    )
    details = [
        f"{API}/penalties/{penalty.pk}/",
        f"{API}/grant-applications/{application.pk}/",
    ]
    assert [_error(api_client.get(f"{API}/{name}/")) for name in ENDPOINTS] == [(401, "not_authenticated")] * 8
    refused = {
        "buyer": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "catalog member": _member(merchant, "catalog"),
        "orders member": _member(merchant, "orders"),
    }
    for who, user in refused.items():
        _as(api_client, user)
        assert [_error(api_client.get(f"{API}/{name}/")) for name in ENDPOINTS] == [(404, "not_found")] * 8, who
        assert [_error(api_client.get(url)) for url in details] == [(404, "not_found")] * 2, who

    # Another merchant's owner: its own (empty) lists, 404 on the merchant's ids, and nothing
    # changes when it tries to appeal or end them.
    _as(api_client, other.owner)
    assert [api_client.get(f"{API}/{name}/").json()["count"] for name in ENDPOINTS[2:5]] == [0, 0, 0]
    assert [_error(api_client.get(url)) for url in details] == [(404, "not_found")] * 2
    assert _error(
        api_client.post(f"{API}/penalties/{penalty.pk}/appeal/", {"statement": "Not us"}, format="multipart")
    ) == (404, "not_found")
    assert _error(api_client.post(f"{API}/subscriptions/{subscription.pk}/end/")) == (404, "not_found")
    penalty.refresh_from_db()
    subscription.refresh_from_db()
    assert (penalty.status, penalty.appeal_statement, subscription.ended_on) == (PenaltyStatus.OPEN, "", None)

    for user in (merchant.owner, _member(merchant, "finance")):
        _as(api_client, user)
        assert [api_client.get(f"{API}/{name}/").status_code for name in ENDPOINTS] == [200] * 8
        assert [api_client.get(url).status_code for url in details] == [200, 200]
        assert [row["id"] for row in api_client.get(f"{API}/penalties/").json()["results"]] == [penalty.pk]


# --- Subsidy accruals and the statement's figures ------------------------------------------------


def test_accruals_show_the_cap_cut_and_the_clawback_and_the_statement_its_figures(api_client):
    logistics(cap="2.20")
    shop = Shop()
    first = order(shop, completed=at(2026, 10, 2, 10), fresh=True)
    second = order(shop, completed=at(2026, 10, 3, 10))
    third = order(shop, completed=at(2026, 10, 5, 10))
    last = order(shop, completed=at(2026, 10, 7, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(period="2026-10")
    _as(api_client, shop.merchant.owner)
    # A draft is internal to finance: nothing shows yet.
    assert api_client.get(f"{API}/subsidy-accruals/").json()["count"] == 0

    finance = UserFactory(is_staff=True, is_superuser=True)
    services.statement_approve(statement=october, actor=finance)
    _refund(second, "10.00", when=at(2026, 11, 3, 10))
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    services.statement_approve(statement=november, actor=finance)

    rows = api_client.get(f"{API}/subsidy-accruals/").json()["results"]
    assert [
        (r["merchant_order"], r["carrier"], r["due"], r["cut"], r["amount"], r["period"], r["clawed_back_period"])
        for r in rows
    ] == [
        (last.pk, "SF", "0.50", "0.30", "0.20", "2026-10", None),
        (third.pk, "SF", "0.50", "0.00", "0.50", "2026-10", None),
        (second.pk, "SF", "0.50", "0.00", "0.50", "2026-10", "2026-11"),
        (first.pk, "SF", "1.00", "0.00", "1.00", "2026-10", None),
    ]
    assert rows[0]["number"] == last.number
    clawed = api_client.get(f"{API}/subsidy-accruals/", {"state": "clawed_back"}).json()["results"]
    assert [r["merchant_order"] for r in clawed] == [second.pk]
    assert api_client.get(f"{API}/subsidy-accruals/", {"state": "paid", "period": "2026-10"}).json()["count"] == 3
    assert api_client.get(f"{API}/subsidy-accruals/", {"period": "2026-11"}).json()["count"] == 0
    assert _error(api_client.get(f"{API}/subsidy-accruals/", {"state": "lost"})) == (400, "validation_error")

    # The statement API: the new line kinds with their figures.
    body = api_client.get(f"/api/v1/settlements/statements/{october.pk}/").json()
    assert {line["kind"]: line["amount"] for line in body["lines"]}["logistics_subsidy"] == "2.20"
    assert body["subsidy"] == {"due": "2.50", "cut": "0.30", "paid": "2.20", "clawed_back": "0.00", "orders": 4}
    body = api_client.get(f"/api/v1/settlements/statements/{november.pk}/").json()
    assert {line["kind"]: line["amount"] for line in body["lines"]}["logistics_subsidy_clawback"] == "-0.50"
    assert body["subsidy"] == {"due": "0.00", "cut": "0.00", "paid": "0.00", "clawed_back": "0.50", "orders": 0}


# --- Grant applications --------------------------------------------------------------------------


def test_a_finance_member_applies_for_a_grant_with_documents(api_client):
    merchant, _c = live_merchant()
    programme = grant_programme()
    user = _member(merchant, "finance")
    _as(api_client, user)
    assert [p["id"] for p in api_client.get(f"{API}/grant-programmes/").json()["results"]] == [programme.pk]
    response = api_client.post(
        f"{API}/grant-applications/",
        {
            "programme": programme.pk,
            "project": "Flagship fit-out",
            "invoiced_amount": "120000.00",
            "documents": [_pdf("a.pdf"), _pdf("b.pdf")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    application = GrantApplication.objects.get()
    assert (application.merchant, application.submitted_by, application.invoiced_amount) == (
        merchant,
        user,
        Decimal("120000.00"),
    )
    assert (body["id"], body["status"], body["invoiced_amount"], body["requested_amount"], body["statement"]) == (
        application.pk,
        GrantStatus.SUBMITTED,
        "120000.00",
        None,
        None,
    )
    assert [d["original_name"] for d in body["documents"]] == ["a.pdf", "b.pdf"]
    assert api_client.get(f"{API}/grant-applications/{application.pk}/").json() == body


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        ({"project": "Fit-out", "invoiced_amount": "100.00"}, (400, "documents_required")),
        ({"project": "", "invoiced_amount": "100.00", "documents": "pdf"}, (400, "project_required")),
        ({"project": "Fit-out", "documents": "pdf"}, (400, "invalid_invoiced_amount")),
        ({"project": "Fit-out", "invoiced_amount": "100.00", "documents": "text"}, (400, "file_type_not_allowed")),
        ({"project": "Fit-out", "invoiced_amount": "abc", "documents": "pdf"}, (400, "validation_error")),
        ({"programme": 0, "project": "Fit-out", "invoiced_amount": "1", "documents": "pdf"}, (400, "validation_error")),
    ],
)
def test_a_bad_application_is_refused_with_its_code_and_writes_nothing(api_client, data, answer):
    merchant, _c = live_merchant()
    programme = grant_programme()
    files = {
        "pdf": [_pdf()],
        "text": [_pdf(), SimpleUploadedFile("notes.pdf", b"just text", content_type="application/pdf")],
    }
    payload = {"programme": programme.pk, **data}
    if "documents" in payload:
        payload["documents"] = files[payload["documents"]]
    _as(api_client, merchant.owner)
    assert _error(api_client.post(f"{API}/grant-applications/", payload, format="multipart")) == answer
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)


def test_a_json_application_is_415(api_client):
    merchant, _c = live_merchant()
    _as(api_client, merchant.owner)
    response = api_client.post(f"{API}/grant-applications/", {"project": "x"}, format="json")
    assert _error(response) == (415, "unsupported_media_type")


# --- Penalties -----------------------------------------------------------------------------------


def test_the_owner_appeals_a_penalty_within_its_window(api_client):
    merchant, _c = live_merchant()
    penalty = _penalty(merchant)
    _as(api_client, merchant.owner)
    body = api_client.get(f"{API}/penalties/{penalty.pk}/").json()
    assert (body["kind"], body["status"], body["amount"], body["statement"]) == ("counterfeit", "open", "1000.00", None)
    assert [(f["side"], f["original_name"]) for f in body["files"]] == [("evidence", "report.pdf")]

    assert _error(api_client.post(f"{API}/penalties/{penalty.pk}/appeal/", {}, format="multipart")) == (
        400,
        "statement_required",
    )
    response = api_client.post(
        f"{API}/penalties/{penalty.pk}/appeal/",
        {"statement": "Bought from the brand's distributor", "files": [_pdf("receipt.pdf")]},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["appeal_statement"]) == ("appealed", "Bought from the brand's distributor")
    assert [(f["side"], f["original_name"]) for f in body["files"]] == [
        ("appeal", "receipt.pdf"),
        ("evidence", "report.pdf"),
    ]
    # Once: a second appeal is refused and adds no file.
    response = api_client.post(f"{API}/penalties/{penalty.pk}/appeal/", {"statement": "Again"}, format="multipart")
    assert _error(response) == (409, "invalid_transition")
    assert PenaltyFile.objects.filter(penalty=penalty).count() == 2


def test_an_appeal_after_the_window_is_409_and_changes_nothing(api_client):
    merchant, _c = live_merchant()
    penalty = _penalty(merchant)
    _as(api_client, merchant.owner)
    later = penalty.appeal_until + datetime.timedelta(seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = api_client.post(
            f"{API}/penalties/{penalty.pk}/appeal/", {"statement": "Too late?"}, format="multipart"
        )
    assert _error(response) == (409, "appeal_window_closed")
    penalty.refresh_from_db()
    assert (penalty.status, penalty.appeal_statement) == (PenaltyStatus.OPEN, "")
    assert PenaltyFile.objects.filter(penalty=penalty).count() == 1
    assert Penalty.objects.count() == 1


# --- Service fees --------------------------------------------------------------------------------


def test_subscribe_buy_a_service_once_per_reference_and_end(api_client):
    merchant, _c = live_merchant()
    gold = SubscriptionPlan.objects.get(code="gold")
    _as(api_client, merchant.owner)
    plans = api_client.get(f"{API}/subscription-plans/").json()["results"]
    assert [(p["code"], p["monthly_price"], p["yearly_price"]) for p in plans] == [
        ("gold", "299.00", "2990.00"),
        ("platinum", "999.00", "9990.00"),
    ]
    assert _error(api_client.post(f"{API}/subscriptions/", {"plan": gold.pk, "cycle": "weekly"}, format="json")) == (
        400,
        "invalid_cycle",
    )
    assert Subscription.objects.count() == 0
    response = api_client.post(f"{API}/subscriptions/", {"plan": gold.pk, "cycle": "monthly"}, format="json")
    assert response.status_code == 201
    subscription = Subscription.objects.get()
    assert (response.json()["plan"]["code"], response.json()["cycle"], response.json()["ended_on"]) == (
        "gold",
        "monthly",
        None,
    )
    assert _error(api_client.post(f"{API}/subscriptions/", {"plan": gold.pk, "cycle": "yearly"}, format="json")) == (
        409,
        "already_subscribed",
    )

    slot = ValueAddedService.objects.get(kind="homepage_slot")
    url = f"{API}/value-added-services/{slot.pk}/purchase/"
    first = api_client.post(url, {"reference": "buy-1"}, format="json")
    again = api_client.post(url, {"reference": "buy-1"}, format="json")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert (first.json()["kind"], first.json()["amount"], first.json()["key"]) == ("homepage_slot", "2000.00", "buy-1")
    assert _error(api_client.post(url, {}, format="json")) == (400, "validation_error")
    slot.active = False
    slot.save()
    assert _error(api_client.post(url, {"reference": "buy-2"}, format="json")) == (404, "not_found")

    charges = api_client.get(f"{API}/fee-charges/").json()["results"]
    assert sorted((c["kind"], c["amount"]) for c in charges) == [
        ("homepage_slot", "2000.00"),
        ("subscription", "299.00"),
    ]
    assert FeeCharge.objects.filter(merchant=merchant).count() == 2

    response = api_client.post(f"{API}/subscriptions/{subscription.pk}/end/")
    assert (response.status_code, response.json()["ended_on"]) == (200, timezone.localdate().isoformat())
    assert _error(api_client.post(f"{API}/subscriptions/{subscription.pk}/end/")) == (409, "subscription_ended")
