"""The merchant portal's subsidies (issue #14): who reaches the grant pages, applying with
documents (a bad file: 400, nothing written), another merchant's application is 404, and the
statement page's subsidy drill-down (the cap's cut shown)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from settlements.choices import GrantStatus, ProgrammeKind
from settlements.models import GrantApplication, GrantDocument, Statement, SubsidyProgramme
from settlements.services import subsidies
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import PDF_BYTES
from tests.settlements.test_portal import _approve, _member, _rows
from tests.settlements.test_runs import Shop, _settle, at
from tests.settlements.test_subsidy_accruals import logistics, order

pytestmark = pytest.mark.django_db

LIST = "/portal/statements/subsidies/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def fit_out():
    return subsidies.programme_save(
        programme=SubsidyProgramme(
            code="fit-out",
            name="Fit-out subsidy",
            kind=ProgrammeKind.FIT_OUT,
            rules={"rate": "0.20", "max_amount": "1000000.00"},
            valid_from=datetime.date(2026, 1, 1),
        ),
        actor=None,
    )


def _form(programme, **overrides):
    data = {
        "programme": programme.pk,
        "project": "New shop front",
        "description": "Fit-out of the Hangzhou shop",
        "invoiced_amount": "250000.00",
        "requested_amount": "",
        "documents": [SimpleUploadedFile("invoice.pdf", PDF_BYTES, content_type="application/pdf")],
    }
    data.update(overrides)
    return data


def _application(programme, merchant):
    return subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Fit-out",
        invoiced_amount="1000.00",
        documents=[SimpleUploadedFile("invoice.pdf", PDF_BYTES)],
    )


def test_the_owner_applies_with_invoices_and_follows_the_application(client, fit_out):
    merchant = live_merchant()[0]
    client.force_login(merchant.owner)
    response = client.post(LIST, _form(fit_out), **EN)
    application = GrantApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{application.pk}/"
    assert (application.merchant, application.submitted_by, application.invoiced_amount) == (
        merchant,
        merchant.owner,
        Decimal("250000.00"),
    )
    assert list(application.documents.values_list("original_name", flat=True)) == ["invoice.pdf"]

    subsidies.grant_approve(application=application, actor=UserFactory(is_staff=True))
    page = client.get(f"{LIST}{application.pk}/", **EN).content.decode()
    assert "Approved: it is paid in your next statement." in page
    assert "¥50,000.00" in page
    listing = client.get(LIST, **EN).content.decode()
    assert "New shop front" in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"documents": [SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf")]}, "Only PDF, PNG and JPEG files"),
        ({"documents": []}, "This field is required."),
        ({"invoiced_amount": ""}, "Enter the invoiced amount in yuan"),
        ({"project": ""}, "This field is required."),
    ],
)
def test_a_bad_application_answers_400_and_writes_nothing(client, fit_out, overrides, message):
    merchant = live_merchant()[0]
    client.force_login(merchant.owner)
    response = client.post(LIST, _form(fit_out, **overrides), **EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("buyer", 404),
        ("catalog", 404),
        ("orders", 404),
        ("finance", 200),
        ("owner", 200),
        ("other", 404),
    ],
)
def test_who_reaches_the_grant_pages(client, fit_out, who, expected):
    merchant = live_merchant()[0]
    application = _application(fit_out, merchant)
    if who == "buyer":
        client.force_login(UserFactory())
    elif who == "owner":
        client.force_login(merchant.owner)
    elif who == "other":
        client.force_login(live_merchant()[0].owner)
    elif who != "anonymous":
        client.force_login(_member(merchant, who))
    detail = client.get(f"{LIST}{application.pk}/", **EN)
    assert detail.status_code == expected
    if who == "anonymous":
        assert detail["Location"].startswith("/accounts/login/")
    listing = client.get(LIST, **EN)
    # The other merchant reaches its own (empty) list, never this merchant's application.
    assert listing.status_code == (200 if who == "other" else expected)
    if who == "other":
        assert "Fit-out" not in listing.content.decode().split("Your applications")[1].split("Apply")[0]
    before = GrantApplication.objects.count()
    response = client.post(LIST, _form(fit_out), **EN)
    if expected != 200 and who != "other":
        assert response.status_code == expected
        assert GrantApplication.objects.count() == before


def test_the_statement_page_shows_the_subsidy_and_the_cut_of_the_cap(client):
    logistics(cap="0.70")
    shop = Shop()
    first = order(shop, completed=at(2026, 10, 2, 10))
    second = order(shop, completed=at(2026, 10, 3, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = _approve(Statement.objects.get(merchant=shop.merchant, period="2026-10"))
    client.force_login(shop.merchant.owner)
    page = client.get(f"/portal/statements/{statement.pk}/", **EN).content.decode()
    assert "Logistics subsidy" in page
    # 0.50 + 0.50 due against the cap 0.70: the second order is cut by 0.30.
    assert (
        "Logistics subsidy on 2 orders shipped with a designated carrier: ¥1.00 by the rule, ¥0.30 cut by the "
        "yearly cap, ¥0.70 paid." in " ".join(page.split())
    )
    rows = _rows(page, "subsidies")
    assert rows[1:] == [
        [first.number, "2026-10-02", "¥0.50", "¥0.00", "¥0.50", ""],
        [second.number, "2026-10-03", "¥0.50", "¥0.30", "¥0.20", ""],
    ]


def test_a_paid_grant_shows_on_its_statement(client, fit_out):
    merchant = live_merchant()[0]
    application = _application(fit_out, merchant)
    subsidies.grant_approve(application=application, actor=UserFactory(is_staff=True))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    application.refresh_from_db()
    assert application.status == GrantStatus.PAID
    statement = _approve(application.statement)
    client.force_login(merchant.owner)
    page = client.get(f"/portal/statements/{statement.pk}/", **EN).content.decode()
    assert "Subsidy grants" in page
    assert _rows(page, "Grants paid")[1:] == [["Fit-out subsidy", "Fit-out", "¥200.00"]]
    detail = client.get(f"{LIST}{application.pk}/", **EN).content.decode()
    assert "Paid in the statement for 2026-12" in detail
