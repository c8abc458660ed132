"""Finance's exports of a settlement period (issue #16), each as CSV or Excel:

- `statements`: one row per statement of the period: the merchant, every line kind's figure
  (blank where the statement has no such line), the status, the payable, what was paid out;
- `reconciliation`: what `selectors.reconcile` compares, section by section: its totals, then
  each difference with the expected and the recorded amount and their difference;
- `journal`: the ledger entries created in the period, one row per posting (debit +, credit −).

CSV is streamed through the kernel's writer (`marketplace.csvfiles.csv_lines`), which
neutralises text cells a spreadsheet would run as a formula; amounts stay numbers. Excel is an
openpyxl write-only workbook (rows are streamed to a temporary file, so a big period does not
sit in memory as cells). Cents stay exact in Excel: an amount is a numeric cell with the number
format `#,##0.00` whose text in the file is the quantized `Decimal`'s own digits (openpyxl would
format it with "%.16g", through a float, which changes the cents of large amounts); text
cells get the same apostrophe as in CSV, so a cell cannot become a formula either.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import Prefetch
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from marketplace.csvfiles import csv_cell, csv_lines
from marketplace.money import quantize

from . import selectors
from .choices import LINE_ORDER, LineKind, PayoutStatus
from .models import JournalEntry, Payout, Posting, Statement
from .periods import Period, local_midnight
from .services import parse_period

REPORT_CHOICES = [
    ("statements", gettext_lazy("Statements")),
    ("reconciliation", gettext_lazy("Reconciliation report")),
    ("journal", gettext_lazy("Ledger journal")),
]
FORMAT_CHOICES = [("csv", "CSV"), ("xlsx", "Excel")]
MONEY_FORMAT = "#,##0.00"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(*, period: str, report: str, format: str):
    """The response carrying `report` of `period` as `format` (400 `invalid_period` otherwise)."""
    parsed = parse_period(period)
    rows = REPORTS[report]
    filename = f"{report}-{parsed}"
    if format == "xlsx":
        response = FileResponse(
            xlsx_file(rows(parsed), title=str(dict(REPORT_CHOICES)[report])), content_type=XLSX_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    lines = (line.encode("utf-8") for line in csv_file(rows(parsed)))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def csv_file(rows: Iterable[list]) -> Iterator[str]:
    """The rows as CSV lines (with a BOM so Excel reads UTF-8), in the language active now."""
    language = translation.get_language()

    def lines():
        with translation.override(language):
            yield from csv_lines(rows, bom=True)

    return lines()


def xlsx_file(rows: Iterable[list], *, title: str):
    """The rows as an .xlsx workbook in a temporary file, rewound (the response closes it)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    output = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    workbook.save(output)
    output.seek(0)
    return output


def _xlsx_cell(sheet, value):
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = MONEY_FORMAT
        # openpyxl writes a number as "%.16g" of it, which goes through a float: 683080698090.19
        # would be written 683080698090.1899. The cell stays numeric ("n") but carries the
        # Decimal's own digits, which the writer puts in the file as they are.
        cell._value = f"{quantize(value):f}"
        return cell
    if value is None or isinstance(value, int):
        return value
    # The CSV writer's rule: text a spreadsheet would run as a formula gets an apostrophe.
    return csv_cell(value)


def _money(value) -> Decimal | str:
    return "" if value is None else quantize(value)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


# --- The reports -------------------------------------------------------------------------------


def statement_rows(period: Period, *, chunk_size: int = 1000) -> Iterator[list]:
    """Header, then one row per statement of the period (by merchant), then the totals."""
    yield [
        _("Merchant ID"),
        _("Merchant"),
        _("Period"),
        *(str(LineKind(kind).label) for kind in LINE_ORDER),
        _("Status"),
        _("Payable"),
        _("Paid out"),
    ]
    statements = (
        Statement.objects.filter(period=str(period))
        .select_related("merchant")
        .prefetch_related("lines", Prefetch("payouts", queryset=Payout.objects.filter(status=PayoutStatus.PAID)))
        .order_by("merchant_id")
    )
    totals = dict.fromkeys([*LINE_ORDER, "payable", "paid"], Decimal("0.00"))
    count = 0
    for statement in statements.iterator(chunk_size=chunk_size):
        lines = {line.kind: line.amount for line in statement.lines.all()}
        paid = sum((payout.amount for payout in statement.payouts.all()), Decimal("0.00"))
        for kind, amount in lines.items():
            totals[kind] += amount
        totals["payable"] += statement.payable
        totals["paid"] += paid
        count += 1
        yield [
            statement.merchant_id,
            str(statement.merchant),
            statement.period,
            *(_money(lines.get(kind)) for kind in LINE_ORDER),
            statement.get_status_display(),
            _money(statement.payable),
            _money(paid),
        ]
    yield [
        _("Total (%(count)d)") % {"count": count},
        "",
        str(period),
        *(_money(totals[kind]) for kind in LINE_ORDER),
        "",
        _money(totals["payable"]),
        _money(totals["paid"]),
    ]


#: Per difference: the key of the expected amount and of the amount recorded against it.
_EXPECTED = ("order_total", "issued", "statement", "amount", "deposit_ledger")
_RECORDED = ("captured", "lines", "ledger")
RECONCILIATION_SECTIONS = {
    "payments": gettext_lazy("Payments"),
    "refunds": gettext_lazy("Refunds"),
    "ledger": gettext_lazy("Statements against the ledger"),
    "payments_ledger": gettext_lazy("Payments against the ledger"),
    "refunds_ledger": gettext_lazy("Refunds against the ledger"),
    "deposits": gettext_lazy("Deposits against the ledger"),
}


def reconciliation_rows(period: Period) -> Iterator[list]:
    """Header; per section its figures ("Total" rows), then its differences."""
    report = selectors.reconcile(period=str(period))
    yield [_("Section"), _("Row"), _("Reference"), _("Expected"), _("Recorded"), _("Difference")]
    for name, section in report.sections.items():
        label = str(RECONCILIATION_SECTIONS.get(name, name))
        for key, value in section.items():
            if key != "differences":
                yield [label, _("Total"), key, _money(value) if isinstance(value, Decimal) else value, "", ""]
        for difference in section["differences"]:
            expected_key = next((k for k in _EXPECTED if k in difference), None)
            recorded_key = next((k for k in _RECORDED if k in difference), None)
            expected = difference.get(expected_key)
            recorded = difference.get(recorded_key)
            reference = " ".join(
                f"{k}={v}" for k, v in difference.items() if k not in (expected_key, recorded_key) and v is not None
            )
            gap = (recorded or Decimal("0.00")) - (expected or Decimal("0.00"))
            yield [label, _("Difference"), reference, _money(expected), _money(recorded), _money(gap)]
    yield [_("Result"), _("No differences") if report.ok else _("Differences found"), "", "", "", ""]


def journal_rows(period: Period, *, chunk_size: int = 2000) -> Iterator[list]:
    """Header, then every posting of the entries created in the period, entry by entry."""
    start, end = local_midnight(period.first_day), period.end
    yield [
        _("Entry"),
        _("Key"),
        _("Time"),
        _("Description"),
        _("Statement"),
        _("Account"),
        _("Account kind"),
        _("Merchant ID"),
        _("Debit"),
        _("Credit"),
    ]
    postings = (
        Posting.objects.filter(entry__created_at__gte=start, entry__created_at__lt=end)
        .select_related("entry", "account")
        .order_by("entry_id", "pk")
    )
    for posting in postings.iterator(chunk_size=chunk_size):
        entry: JournalEntry = posting.entry
        amount = quantize(posting.amount)
        yield [
            entry.pk,
            entry.key,
            _when(entry.created_at),
            entry.description,
            entry.statement_id or "",
            posting.account.name,
            posting.account.get_kind_display(),
            posting.account.merchant_id or "",
            amount if amount > 0 else "",
            -amount if amount < 0 else "",
        ]


REPORTS = {"statements": statement_rows, "reconciliation": reconciliation_rows, "journal": journal_rows}


# --- The dry run's result ------------------------------------------------------------------------


def dry_run_csv(dry_run) -> Iterator[str]:
    """A completed dry run's rows (one per merchant) and its totals, as CSV lines."""
    return csv_file(_dry_run_rows(dry_run))


def _dry_run_rows(dry_run, *, chunk_size: int = 2000) -> Iterator[list]:
    totals = {kind: Decimal(amount) for kind, amount in dry_run.totals.items()}
    kinds = selectors.preview_columns(totals)
    yield [
        _("Merchant ID"),
        _("Merchant"),
        *(str(LineKind(kind).label) for kind in kinds),
        _("Frozen orders"),
        _("Payable"),
    ]
    count = frozen = 0
    for row in dry_run.rows.order_by("merchant_id").iterator(chunk_size=chunk_size):
        count += 1
        frozen += row.frozen
        yield [
            row.merchant_id,
            row.merchant,
            *(quantize(Decimal(row.lines[kind])) if kind in row.lines else "" for kind in kinds),
            row.frozen,
            quantize(row.payable),
        ]
    yield [
        _("Total (%(count)d)") % {"count": count},
        "",
        *(quantize(totals[kind]) for kind in kinds),
        frozen,
        quantize(totals.get("payable", Decimal("0.00"))),
    ]
