"""The tax rebate (issue #14, domain.md "Incentive subsidies"): a merchant applies for an
ended tax year with its local contribution and tax documents; the rule reads the year's
revenue from settlement data (Σ base of the settled orders of the year's statements, less
the refunded base) and rebates the contribution at the highest revenue step reached, for
the first 3 tax years after going live; approval reserves the pool; the next statement pays
it. Merchants download their own applications' documents in the portal."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection

from merchants.models import Merchant
from orders.models import MerchantOrder
from settlements.choices import GrantStatus, LineKind, ProgrammeKind
from settlements.models import GrantApplication, GrantDocument, Statement, SubsidyProgramme
from settlements.selectors import merchant_yearly_revenue
from settlements.services import subsidies
from settlements.services.subsidies import SubsidyConflict, SubsidyError
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.settlements.test_portal_charges import _identities
from tests.settlements.test_runs import Shop, _lines, _refund, _settle, at
from tests.settlements.test_subsidy_grants import pdf, pool

pytestmark = pytest.mark.django_db

STEPS = [
    {"min_revenue": "5000000.00", "rate": "0.30"},
    {"min_revenue": "10000000.00", "rate": "0.40"},
    {"min_revenue": "20000000.00", "rate": "0.50"},
]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def tax_rebate(*, budget=None, steps=STEPS, years=3):
    return subsidies.programme_save(
        programme=SubsidyProgramme(
            code="tax-rebate",
            name="Tax rebate",
            kind=ProgrammeKind.TAX_REBATE,
            rules={"steps": steps, "years": years},
            valid_from=datetime.date(2026, 1, 1),
            budget=Decimal(budget) if budget else None,
        ),
        actor=None,
    )


def shop_with_revenue(revenue: str, *, period="2026-10"):
    """A shop live since 2026-09-10 whose statement for `period` settled one order of base
    `revenue` (the order is a real one, settled by the run; its base is then set to the
    figure wanted, as the selector reads it)."""
    shop = Shop()
    order = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    _settle("2026-10", now=at(2026, 11, 2, 1))
    MerchantOrder.objects.filter(pk=order.pk).update(base_total=Decimal(revenue))
    if period != "2026-10":
        Statement.objects.filter(merchant=shop.merchant).update(period=period)
    return shop.merchant


def apply(programme, merchant, *, year=2026, contribution="800000.00", now=None, documents=None):
    with mock.patch("django.utils.timezone.now", return_value=now or at(2027, 1, 20, 10)):
        return subsidies.grant_apply(
            merchant=merchant,
            programme=programme,
            actor=merchant.owner,
            project=f"Tax rebate {year}",
            invoiced_amount=contribution,
            tax_year=year,
            documents=documents if documents is not None else [pdf("tax-return.pdf")],
        )


def approve(application, *, now=None, **kwargs):
    with mock.patch("django.utils.timezone.now", return_value=now or at(2027, 1, 25, 10)):
        return subsidies.grant_approve(application=application, actor=UserFactory(is_staff=True), **kwargs)


def test_the_programme_takes_revenue_steps_and_a_number_of_years():
    clean = subsidies.programme_rules_clean(
        kind=ProgrammeKind.TAX_REBATE,
        rules={
            "steps": [{"min_revenue": "20000000", "rate": "0.5"}, {"min_revenue": "5000000", "rate": "0.3"}],
            "years": 3,
        },
    )
    # Sorted by threshold, amounts to the cent.
    assert clean == {
        "steps": [{"min_revenue": "5000000.00", "rate": "0.3"}, {"min_revenue": "20000000.00", "rate": "0.5"}],
        "years": 3,
    }
    for rules, fields in [
        ({"steps": [], "years": 3}, {"steps"}),
        ({"steps": [{"min_revenue": "5000000", "rate": "1.5"}], "years": 3}, {"steps"}),
        ({"steps": [{"min_revenue": "5000000", "rate": "0.3"}, {"min_revenue": "5000000", "rate": "0.4"}]}, None),
        ({"steps": [{"min_revenue": "5000000", "rate": "0.3", "x": 1}], "years": 3}, {"steps"}),
        ({"steps": STEPS, "years": 0}, {"years"}),
        ({"steps": STEPS, "years": "3"}, {"years"}),
    ]:
        with pytest.raises(SubsidyError) as caught:
            subsidies.programme_rules_clean(kind=ProgrammeKind.TAX_REBATE, rules=rules)
        assert caught.value.code == "invalid_programme_rules"
        if fields:
            assert set(caught.value.extra["fields"]) == fields
    # The seeded programme follows domain.md's 30 %–50 % from ¥5,000,000.
    assert subsidies.DEFAULT_PROGRAMMES["tax-rebate"]["rules"] == {"steps": STEPS, "years": 3}


@pytest.mark.parametrize(
    "revenue, rate, rebate",
    [
        ("5000000.00", "0.30", "240000.00"),
        ("9999999.99", "0.30", "240000.00"),
        ("10000000.00", "0.40", "320000.00"),
        ("19999999.99", "0.40", "320000.00"),
        ("20000000.00", "0.50", "400000.00"),
        ("87654321.09", "0.50", "400000.00"),
    ],
)
def test_the_rebate_is_the_contribution_at_the_step_the_yearly_revenue_reaches(revenue, rate, rebate):
    merchant = shop_with_revenue(revenue)
    application = apply(tax_rebate(), merchant)
    assert (application.tax_year, application.yearly_revenue, application.invoiced_amount) == (
        2026,
        Decimal(revenue),
        Decimal("800000.00"),
    )
    approved = approve(application)
    assert (approved.status, approved.approved_amount, approved.rate, approved.yearly_revenue) == (
        GrantStatus.APPROVED,
        Decimal(rebate),
        Decimal(rate),
        Decimal(revenue),
    )


def test_a_contribution_with_cents_is_rebated_to_the_cent():
    merchant = shop_with_revenue("12000000.00")
    approved = approve(apply(tax_rebate(), merchant, contribution="123456.79"))
    # 123,456.79 × 0.40 = 49,382.716 → 49,382.72 (half-up).
    assert approved.approved_amount == Decimal("49382.72")


def test_revenue_is_the_years_settled_base_less_the_refunded_base_of_its_statements():
    shop = Shop()
    kept = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    refunded = shop.completed_order([("35.50", 2)], placed=at(2026, 10, 1), completed=at(2026, 10, 3))
    _settle("2026-10", now=at(2026, 11, 1))
    _refund(refunded, "35.50", when=at(2026, 11, 5))  # one of the two units
    _settle("2026-11", now=at(2026, 12, 1))
    merchant = shop.merchant
    assert sorted(Statement.objects.filter(merchant=merchant).values_list("period", flat=True)) == [
        "2026-10",
        "2026-11",
    ]
    # 100.00 + 71.00 settled in October, 35.50 of base refunded in November.
    assert merchant_yearly_revenue(merchant.pk, 2026) == Decimal("135.50")
    # Another year's statements (and another merchant's) count nothing.
    Statement.objects.filter(merchant=merchant, period="2026-11").update(period="2027-01")
    assert merchant_yearly_revenue(merchant.pk, 2026) == Decimal("171.00")
    assert merchant_yearly_revenue(merchant.pk, 2027) == Decimal("-35.50")
    assert merchant_yearly_revenue(live_merchant()[0].pk, 2026) == Decimal("0")
    assert kept.pk


def test_below_the_threshold_the_application_is_refused_and_nothing_is_written():
    merchant = shop_with_revenue("4999999.99")
    programme = tax_rebate()
    with pytest.raises(SubsidyConflict) as caught:
        apply(programme, merchant)
    assert (caught.value.code, caught.value.extra) == (
        "tax_rebate_below_threshold",
        {"revenue": "4999999.99", "threshold": "5000000.00"},
    )
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)


def test_only_the_first_three_tax_years_after_going_live_and_only_ended_years():
    merchant = shop_with_revenue("5000000.00", period="2028-10")  # live since 2026-09-10
    programme = tax_rebate()
    cases = [
        (2025, at(2027, 1, 20), SubsidyConflict, "tax_year_before_live"),
        (2029, at(2030, 1, 20), SubsidyConflict, "tax_rebate_years_over"),
        (2027, at(2027, 12, 31, 23), SubsidyError, "tax_year_not_ended"),
        ("20x6", at(2027, 1, 20), SubsidyError, "invalid_tax_year"),
        (None, at(2027, 1, 20), SubsidyError, "invalid_tax_year"),
    ]
    for year, now, error, code in cases:
        with pytest.raises(error) as caught:
            apply(programme, merchant, year=year, now=now)
        assert caught.value.code == code, year
    assert GrantApplication.objects.count() == 0
    # The third tax year (2028, the year live + 2) is still eligible.
    application = apply(programme, merchant, year=2028, now=at(2029, 1, 20))
    assert approve(application, now=at(2029, 2, 1)).approved_amount == Decimal("240000.00")


def test_a_merchant_not_live_cannot_apply():
    merchant = shop_with_revenue("5000000.00")
    Merchant.objects.filter(pk=merchant.pk).update(status="suspended", live_since=None)
    merchant.refresh_from_db()
    with pytest.raises(SubsidyConflict) as caught:
        apply(tax_rebate(), merchant)
    assert caught.value.code == "merchant_not_live"
    assert GrantApplication.objects.count() == 0


def test_a_tax_year_is_applied_for_once_unless_refused():
    merchant = shop_with_revenue("5000000.00")
    programme = tax_rebate()
    first = apply(programme, merchant)
    with pytest.raises(SubsidyConflict) as caught:
        apply(programme, merchant)
    assert (caught.value.code, caught.value.extra) == ("tax_rebate_already_applied", {"tax_year": 2026})
    assert GrantApplication.objects.count() == 1
    subsidies.grant_refuse(application=first, actor=UserFactory(is_staff=True), reason="Documents unreadable")
    again = apply(programme, merchant)
    assert list(GrantApplication.objects.order_by("pk").values_list("pk", "status")) == [
        (first.pk, GrantStatus.REFUSED),
        (again.pk, GrantStatus.SUBMITTED),
    ]


def test_approval_reserves_the_pool_and_the_next_statement_pays_it():
    merchant = shop_with_revenue("10000000.00")
    programme = tax_rebate(budget="1000000.00")
    approved = approve(apply(programme, merchant))
    assert approved.approved_amount == Decimal("320000.00")
    assert pool(programme) == (Decimal("320000.00"), Decimal("0.00"), Decimal("680000.00"))

    _settle("2027-01", now=at(2027, 2, 1, 1))
    january = Statement.objects.get(merchant=merchant, period="2027-01")
    assert _lines(january) == {LineKind.GRANT_SUBSIDY: Decimal("320000.00")}
    assert january.payable == Decimal("320000.00")
    approved.refresh_from_db()
    assert (approved.status, approved.statement) == (GrantStatus.PAID, january)
    assert pool(programme) == (Decimal("0.00"), Decimal("320000.00"), Decimal("680000.00"))
    # A rerun pays nothing twice.
    _settle("2027-01", now=at(2027, 2, 2, 1))
    assert pool(programme) == (Decimal("0.00"), Decimal("320000.00"), Decimal("680000.00"))


def test_a_rebate_that_does_not_fit_the_pool_is_refused_and_changes_nothing():
    merchant = shop_with_revenue("20000000.00")
    programme = tax_rebate(budget="100000.00")
    application = apply(programme, merchant)
    with pytest.raises(SubsidyConflict) as caught:
        approve(application)
    assert caught.value.code == "subsidy_pool_exhausted"
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == (GrantStatus.SUBMITTED, None)
    assert pool(programme) == (Decimal("0.00"), Decimal("0.00"), Decimal("100000.00"))


def test_the_merchant_applies_for_a_tax_rebate_in_the_portal(client):
    merchant = shop_with_revenue("5000000.00")
    programme = tax_rebate()
    form = {"programme": programme.pk, "project": "Tax rebate 2026", "invoiced_amount": "800000.00"}
    with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 20, 10)):
        # Logged in at the mocked time: the session is fresh then.
        client.force_login(merchant.owner)
        refused = client.post("/portal/statements/subsidies/", {**form, "tax_year": "2025", "documents": [pdf()]}, **EN)
        assert refused.status_code == 400
        assert "The shop went live in 2026, after the tax year 2025." in refused.content.decode()
        assert GrantApplication.objects.count() == 0
        response = client.post("/portal/statements/subsidies/", {**form, "tax_year": "2026", "documents": [pdf()]})
    application = GrantApplication.objects.get()
    assert response.status_code == 302
    assert (application.tax_year, application.yearly_revenue, application.invoiced_amount) == (
        2026,
        Decimal("5000000.00"),
        Decimal("800000.00"),
    )
    client.force_login(merchant.owner)
    page = client.get(f"/portal/statements/subsidies/{application.pk}/", **EN).content.decode()
    assert "Local contribution" in page and "¥5,000,000.00" in page and "¥800,000.00" in page


# --- Merchants' own grant documents ---------------------------------------------------------


def test_grant_documents_only_for_the_owner_and_finance_members(client):
    merchant, _c = live_merchant()
    other, _c = live_merchant()
    fit_out = subsidies.programme_save(
        programme=SubsidyProgramme(
            code="fit-out",
            name="Fit-out",
            kind=ProgrammeKind.FIT_OUT,
            rules={"rate": "0.20", "max_amount": "1000000.00"},
            valid_from=datetime.date(2026, 1, 1),
        ),
        actor=None,
    )
    mine = subsidies.grant_apply(
        merchant=merchant,
        programme=fit_out,
        actor=merchant.owner,
        project="Shop fit-out",
        invoiced_amount="1000.00",
        documents=[pdf("invoice.pdf")],
    )
    theirs = subsidies.grant_apply(
        merchant=other,
        programme=fit_out,
        actor=other.owner,
        project="Their fit-out",
        invoiced_amount="1000.00",
        documents=[pdf("their-invoice.pdf")],
    )
    document, their_document = mine.documents.get(), theirs.documents.get()
    url = f"/portal/statements/subsidies/{mine.pk}/documents/{document.pk}/"
    for name, user in _identities(merchant, other).items():
        client.logout()
        if user:
            client.force_login(user)
        response = client.get(url, **EN)
        if user is None:
            assert (response.status_code, response["Location"].split("?")[0]) == (302, "/accounts/login/")
        elif name in {"owner", "finance member"}:
            assert response.status_code == 200, name
            assert b"".join(response.streaming_content).startswith(b"%PDF-")
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"] == f'inline; filename="grant-{mine.pk}-{document.pk}.pdf"'
            assert (response["X-Content-Type-Options"], response["Cache-Control"]) == ("nosniff", "private, no-store")
        else:
            assert response.status_code == 404, name
    client.force_login(merchant.owner)
    # Another merchant's document, even under one's own application's id: 404.
    for wrong in [
        f"/portal/statements/subsidies/{theirs.pk}/documents/{their_document.pk}/",
        f"/portal/statements/subsidies/{mine.pk}/documents/{their_document.pk}/",
    ]:
        assert client.get(wrong).status_code == 404, wrong
    # The detail page links the documents.
    page = client.get(f"/portal/statements/subsidies/{mine.pk}/", **EN).content.decode()
    assert f'href="{url}"' in page and "invoice.pdf" in page


def test_a_document_whose_file_is_gone_is_404(client):
    merchant, _c = live_merchant()
    programme = subsidies.programme_save(
        programme=SubsidyProgramme(
            code="training",
            name="Training",
            kind=ProgrammeKind.TRAINING,
            rules={"rate": "0.80"},
            valid_from=datetime.date(2026, 1, 1),
        ),
        actor=None,
    )
    application = subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Courses",
        invoiced_amount="1000.00",
        documents=[pdf()],
    )
    document = application.documents.get()
    document.file.delete(save=False)
    client.force_login(merchant.owner)
    assert client.get(f"/portal/statements/subsidies/{application.pk}/documents/{document.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_racing_submissions_for_one_tax_year_create_one_application():
    merchant = shop_with_revenue("5000000.00")
    programme = tax_rebate()
    results: list[str] = []
    barrier = threading.Barrier(6)

    def submit():
        try:
            barrier.wait()
            subsidies.grant_apply(
                merchant=merchant,
                programme=programme,
                actor=merchant.owner,
                project="Tax rebate 2026",
                invoiced_amount="800000.00",
                tax_year=2026,
                documents=[pdf("tax-return.pdf")],
            )
            results.append("applied")
        except SubsidyConflict as exc:
            results.append(exc.code)
        finally:
            connection.close()

    with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 20, 10)):
        threads = [threading.Thread(target=submit) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(results) == ["applied"] + ["tax_rebate_already_applied"] * 5
    application = GrantApplication.objects.get()
    assert (application.tax_year, application.status, application.documents.count()) == (2026, "submitted", 1)
    assert GrantDocument.objects.count() == 1
