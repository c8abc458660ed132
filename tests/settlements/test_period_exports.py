"""Finance's exports of a period (issue #16): statements, the reconciliation report and the
ledger journal, as CSV and Excel; a statement's PDF and CSV from its admin page; who may."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from unittest import mock

import openpyxl
import pytest

from marketplace.roles import OPERATIONS, REVIEWER
from merchants.models import Merchant
from settlements.models import JournalEntry, Posting, Statement
from tests.factories import UserFactory
from tests.settlements.test_admin import AFTER_OCTOBER, World, approve, finance, finance_member, staff, state, url

pytestmark = pytest.mark.django_db

KINDS = [
    "Goods paid by buyers",
    "Platform discounts reimbursed",
    "Shipping fees",
    "Commission",
    "Refunds",
    "Shipping refunds",
    "Platform discounts taken back",
    "Commission returned",
    "Ladder rebate",
    "Penalties",
    "Service fees",
    "Logistics subsidy",
    "Logistics subsidy clawed back",
    "Subsidy grants",
    "Manual adjustments",
    "Carried forward from the previous statement",
]
BLANK12 = [""] * 12


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def world() -> World:
    """A: ¥103.00 to review; B: ¥198.00, approved on 2 November (its entry in November)."""
    w = World()
    with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
        approve(w.sb, staff())
    # A payee name a spreadsheet would run as a formula.
    Merchant.objects.filter(pk=w.a.merchant.pk).update(shop_name="=HYPERLINK(1)", company_name="=HYPERLINK(1)")
    return w


def export(client, report, fmt="csv", period="2026-10"):
    client.force_login(finance())
    return client.get(url("settlementrun_exports"), {"period": period, "report": report, "format": fmt})


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx(response):
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    raw = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    return sheet, raw


def test_the_statements_of_a_period_as_csv(client, world):
    rows = csv_rows(export(client, "statements"))
    a, b = world.a.merchant, world.b.merchant
    assert rows == [
        ["Merchant ID", "Merchant", "Period", *KINDS, "Status", "Payable", "Paid out"],
        [
            str(a.pk),
            "'=HYPERLINK(1)",
            "2026-10",
            "100.00",
            "0.00",
            "8.00",
            "-5.00",
            *BLANK12,
            "To review",
            "103.00",
            "0.00",
        ],
        [str(b.pk), str(b), "2026-10", "200.00", "0.00", "8.00", "-10.00", *BLANK12, "Approved", "198.00", "0.00"],
        ["Total (2)", "", "2026-10", "300.00", "0.00", "16.00", "-15.00", *["0.00"] * 12, "", "301.00", "0.00"],
    ]


def test_the_statements_of_a_period_as_excel_keep_cents_exact_as_numbers(client, world):
    response = export(client, "statements", "xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="statements-2026-10.xlsx"'
    sheet, raw = xlsx(response)
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    a, b = world.a.merchant, world.b.merchant
    blanks = [None] * 12
    assert values[0] == ["Merchant ID", "Merchant", "Period", *KINDS, "Status", "Payable", "Paid out"]
    assert values[1] == [a.pk, "'=HYPERLINK(1)", "2026-10", 100, 0, 8, -5, *blanks, "To review", 103, 0]
    assert values[2] == [b.pk, str(b), "2026-10", 200, 0, 8, -10, *blanks, "Approved", 198, 0]
    assert values[3][:7] == ["Total (2)", None, "2026-10", 300, 0, 16, -15]
    assert values[3][-3:] == [None, 301, 0]
    # Money cells are numbers with two decimals; the file holds the Decimal's own digits.
    payable = sheet.cell(row=2, column=len(values[0]) - 1)
    assert (payable.data_type, payable.number_format) == ("n", "#,##0.00")
    assert "<v>103.00</v>" in raw and "<v>-5.00</v>" in raw and "<v>-15.00</v>" in raw
    # No cell became a formula.
    assert "<f>" not in raw
    assert len(values) == 4


def test_the_reconciliation_report_as_csv_and_excel(client, world):
    rows = csv_rows(export(client, "reconciliation"))
    assert rows[0] == ["Section", "Row", "Reference", "Expected", "Recorded", "Difference"]
    assert rows[1:6] == [
        ["Payments", "Total", "captured", "316.00", "", ""],
        ["Payments", "Total", "orders_paid", "316.00", "", ""],
        ["Refunds", "Total", "issued", "0.00", "", ""],
        ["Refunds", "Total", "refund_lines", "0.00", "", ""],
        ["Statements against the ledger", "Total", "statements", "1", "", ""],
    ]
    # The gateway captures have no journal entry yet (the poster has not run): each is a
    # difference, with what was expected and nothing recorded.
    payments = [r for r in rows if r[0] == "Payments against the ledger"]
    assert payments[:2] == [
        ["Payments against the ledger", "Total", "amount", "316.00", "", ""],
        ["Payments against the ledger", "Total", "ledger", "0.00", "", ""],
    ]
    assert sorted((r[1], r[3], r[4], r[5]) for r in payments[2:]) == [
        ("Difference", "108.00", "", "-108.00"),
        ("Difference", "208.00", "", "-208.00"),
    ]
    assert rows[-1] == ["Result", "Differences found", "", "", "", ""]
    sheet, raw = xlsx(export(client, "reconciliation", "xlsx"))
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(values) == len(rows)
    assert values[1] == ["Payments", "Total", "captured", 316, None, None]
    assert "<v>316.00</v>" in raw and "<v>-108.00</v>" in raw


def test_the_ledger_journal_of_a_period_one_row_per_posting(client, world):
    entry = JournalEntry.objects.get(statement=world.sb)
    postings = list(Posting.objects.filter(entry=entry).select_related("account").order_by("pk"))
    assert sum(p.amount for p in postings) == 0 and len(postings) >= 2
    # Approved on 2 November: nothing in October's journal, the entry in November's.
    assert csv_rows(export(client, "journal")) == [
        [
            "Entry",
            "Key",
            "Time",
            "Description",
            "Statement",
            "Account",
            "Account kind",
            "Merchant ID",
            "Debit",
            "Credit",
        ]
    ]
    rows = csv_rows(export(client, "journal", period="2026-11"))
    assert rows[1:] == [
        [
            str(entry.pk),
            f"statement:{world.sb.pk}",
            "2026-11-02 10:00:00",
            entry.description,
            str(world.sb.pk),
            p.account.name,
            str(p.account.get_kind_display()),
            str(p.account.merchant_id or ""),
            f"{p.amount:.2f}" if p.amount > 0 else "",
            f"{-p.amount:.2f}" if p.amount < 0 else "",
        ]
        for p in postings
    ]
    debits = sum(Decimal(r[8]) for r in rows[1:] if r[8])
    credits = sum(Decimal(r[9]) for r in rows[1:] if r[9])
    assert debits == credits == sum(p.amount for p in postings if p.amount > 0)
    sheet, raw = xlsx(export(client, "journal", "xlsx", period="2026-11"))
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(values) == len(postings) + 1
    assert "<v>198.00</v>" in raw


@pytest.mark.parametrize(
    "query",
    [
        {"period": "2026-10\x00", "report": "statements", "format": "csv"},
        {"period": "\x00", "report": "journal", "format": "xlsx"},
        {"period": "abc", "report": "statements", "format": "csv"},
        {"period": "2026-13", "report": "statements", "format": "csv"},
        {"period": "2026-10", "report": "payroll", "format": "csv"},
        {"period": "2026-10", "report": "statements", "format": "pdf"},
        {"period": "2026-10"},
    ],
)
def test_bad_input_answers_400_with_the_form(client, world, query):
    before = state()
    client.force_login(finance())
    response = client.get(url("settlementrun_exports"), query)
    assert response.status_code == 400
    if "\x00" not in query["period"]:  # a NUL byte is refused before the view (middleware)
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response.context["form"].errors
    assert state() == before


def test_who_may_export(client, world):
    pages = [url("settlementrun_exports")] + [
        url("settlementrun_exports") + f"?period=2026-10&report={r}&format={f}"
        for r in ("statements", "reconciliation", "journal")
        for f in ("csv", "xlsx")
    ]
    before = state()
    for user, expected in (
        (finance(), 200),
        (UserFactory(is_staff=True, is_superuser=True), 200),
        (staff(groups=[OPERATIONS]), 403),
        (staff(groups=[REVIEWER]), 403),
        # One of the two permissions is not enough.
        (staff(perms=["settlements.view_statement"]), 403),
    ):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == expected, (user, page)
    for user in (UserFactory(), world.a.merchant.owner, finance_member(world.a), None):
        client.logout()
        if user is not None:
            client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), page
    assert state() == before


def test_the_run_list_links_to_the_exports_for_finance_only(client, world):
    client.force_login(finance())
    assert url("settlementrun_exports") in client.get(url("settlementrun_changelist")).content.decode()


# --- A statement's PDF and CSV from its admin page --------------------------------------------


def test_a_statements_pdf_and_csv_from_its_admin_page(client, world):
    client.force_login(finance())
    page = client.get(url("statement_change", world.sa.pk)).content.decode()
    assert url("statement_pdf", world.sa.pk) in page and url("statement_csv", world.sa.pk) in page
    response = client.get(url("statement_pdf", world.sa.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="statement-2026-10-{world.a.merchant.pk}.pdf"'
    response = client.get(url("statement_csv", world.sa.pk))
    rows = csv_rows(response)
    # The portal's file: the settled order, the totals and the payable.
    assert rows[-1] == ["Payable", "", "", "", "", "", "", "", "", "", "", "", "", "103.00", ""]
    assert response["Content-Disposition"] == f'attachment; filename="statement-2026-10-{world.a.merchant.pk}.csv"'


def test_who_may_download_a_statement_from_the_admin(client, world):
    pages = [url("statement_pdf", world.sa.pk), url("statement_csv", world.sb.pk)]
    for user, expected in (
        (finance(), 200),
        (staff(groups=[OPERATIONS]), 403),
        (staff(groups=[REVIEWER]), 403),
        (staff(), 403),
    ):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == expected, (user, page)
    for user in (UserFactory(), world.a.merchant.owner, finance_member(world.a), None):
        client.logout()
        if user is not None:
            client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), page
    client.force_login(finance())
    missing = Statement.objects.order_by("-pk").first().pk + 1
    assert client.get(url("statement_pdf", missing)).status_code == 404
    assert client.get(url("statement_csv", missing)).status_code == 404


def test_excel_amounts_carry_the_decimals_own_digits_not_a_floats():
    """openpyxl alone writes "%.16g" of a float: 683080698090.19 would be 683080698090.1899."""
    from settlements.period_exports import xlsx_file

    amounts = [Decimal("683080698090.19"), Decimal("-633441481699.93"), Decimal("0.1"), Decimal("-0.005")]
    data = xlsx_file([["=1+1", *amounts]], title="t").read()
    raw = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    for text in ("683080698090.19", "-633441481699.93", "0.10", "-0.01"):
        assert f"<v>{text}</v>" in raw, text
    assert "<f>" not in raw and "'=1+1" in raw
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == ["'=1+1", 683080698090.19, -633441481699.93, 0.1, -0.01]
    assert {c.number_format for c in sheet[1][1:]} == {"#,##0.00"}
