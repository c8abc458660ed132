"""marketplace.csvfiles: every file-level refusal has its code, in the caller's error class."""

import pytest

from marketplace.csvfiles import read_csv
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
