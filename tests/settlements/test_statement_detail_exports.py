"""The statement's CSV and PDF list the records behind the subsidy, penalty and service-fee
lines (issue #14), not only their totals: each logistics accrual paid (its order, carrier,
amount and what the yearly cap cut) or clawed back, each grant paid, penalty and fee deducted.

The figures are those of tests/settlements/test_subsidy_accruals.py (cap ¥2.20: the last
¥0.50 order gets ¥0.20) and of the fit-out grant (20 % of ¥1,000.00 invoiced: ¥200.00)."""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from settlements import exports, pdf, services
from settlements.choices import ProgrammeKind
from settlements.defaults import ensure_default_charges
from settlements.models import Statement
from settlements.services import subsidies
from tests.factories import UserFactory
from tests.merchants.factories import pdf_upload
from tests.settlements.test_pdf import _pdf_text
from tests.settlements.test_runs import Shop, _lines, _refund, _settle, at
from tests.settlements.test_subsidy_accruals import logistics, order
from tests.settlements.test_subsidy_grants import approve, grant_programme

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ensure_default_charges()


def _csv(statement) -> list[list[str]]:
    with translation.override("en"):
        text = "".join(exports.statement_csv(statement)).lstrip("\ufeff")
    return list(csv.reader(text.splitlines()))


def _detail(rows, *records) -> list[tuple]:
    """(record, reference, order, date, amount, note) of the rows of `records`."""
    return [(r[0], r[1], r[2], r[3], r[13], r[14]) for r in rows if r[0] in records]


KINDS = ("Logistics subsidy", "Logistics subsidy clawed back", "Subsidy grant", "Penalty", "Service fee")


def test_the_csv_and_pdf_list_each_subsidy_penalty_and_fee_behind_the_lines():
    programme = logistics(cap="2.20")
    shop = Shop()
    first = order(shop, completed=at(2026, 10, 2, 10), fresh=True)
    second = order(shop, completed=at(2026, 10, 3, 10))
    third = order(shop, completed=at(2026, 10, 5, 10))
    last = order(shop, completed=at(2026, 10, 7, 10))
    fit_out = grant_programme(ProgrammeKind.FIT_OUT)
    application = subsidies.grant_apply(
        merchant=shop.merchant,
        programme=fit_out,
        actor=shop.merchant.owner,
        project="Shop fit-out",
        invoiced_amount="1000.00",
        documents=[pdf_upload("invoice.pdf")],
    )
    approve(application)  # decided 2026-10-20
    staff = UserFactory(is_staff=True)
    penalty = services.penalty_raise(
        merchant=shop.merchant,
        kind="fake_shipment",
        amount="500.00",
        reason="No carrier scan",
        actor=staff,
        now=at(2026, 10, 1, 10),
    )
    services.fee_charge_record(
        merchant=shop.merchant,
        kind="keyword_bidding",
        amount="500.00",
        description="Keyword bidding, 1,000 clicks",
        reference="KW-1",
        actor=staff,
        billed_on=datetime.date(2026, 10, 15),
    )
    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(period="2026-10")
    lines = _lines(october)
    assert (lines["logistics_subsidy"], lines["grant_subsidy"], lines["penalties"], lines["service_fees"]) == (
        Decimal("2.20"),
        Decimal("200.00"),
        Decimal("-500.00"),
        Decimal("-500.00"),
    )

    rows = _csv(october)
    code = programme.code
    assert _detail(rows, *KINDS) == [
        ("Logistics subsidy", code, first.number, "2026-10-02", "1.00", "Carrier SF"),
        ("Logistics subsidy", code, second.number, "2026-10-03", "0.50", "Carrier SF"),
        ("Logistics subsidy", code, third.number, "2026-10-05", "0.50", "Carrier SF"),
        (
            "Logistics subsidy",
            code,
            last.number,
            "2026-10-07",
            "0.20",
            "Carrier SF; due 0.50, cut by the yearly cap 0.30",
        ),
        ("Subsidy grant", fit_out.code, "", "2026-10-20", "200.00", f"{fit_out.name}: Shop fit-out"),
        ("Penalty", f"P{penalty.pk}", "", "2026-10-01", "-500.00", "Fake shipment: No carrier scan"),
        ("Service fee", "KW-1", "", "2026-10-15", "-500.00", "Keyword bidding, 1,000 clicks"),
    ]
    # Each kind's rows sum to its line, and every source row with the totals to the payable.
    source = [r for r in rows[1:] if r[0] not in ("Total", "Payable")]
    assert sum(Decimal(r[13]) for r in source) == october.payable
    assert rows[-1] == ["Payable", "", "", "", "", "", "", "", "", "", "", "", "", f"{october.payable}", ""]

    with translation.override("en"):
        text = _pdf_text(pdf.statement_pdf(october))
    assert "Subsidies, penalties and service fees" in text
    assert f"Logistics subsidy {last.number} 2026-10-07 ¥0.20 Carrier SF; due 0.50, cut by the yearly cap 0.30" in text
    assert f"Subsidy grant {fit_out.code} 2026-10-20 ¥200.00 {fit_out.name}: Shop fit-out" in text
    assert f"Penalty P{penalty.pk} 2026-10-01 -¥500.00 Fake shipment: No carrier scan" in text
    assert "Service fee KW-1 2026-10-15 -¥500.00 Keyword bidding, 1,000 clicks" in text

    # November: the second order, fully refunded, has its subsidy clawed back.
    _refund(second, "10.00", when=at(2026, 11, 3, 10))
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    assert _detail(_csv(november), *KINDS) == [
        (
            "Logistics subsidy clawed back",
            code,
            second.number,
            "2026-10-03",
            "-0.50",
            "Paid in 2026-10; the order was fully refunded",
        )
    ]
