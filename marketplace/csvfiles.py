"""The CSV files of the marketplace: reading uploads, writing every export.

Reading the CSV files people upload (stock levels, shipments, the bank's payout results).

Guarantees: a file is read whole or refused with a `DomainError` of the caller's class and
a stable code, never a 500:
- `file_too_large`: more than `max_bytes`;
- `file_encoding`: not UTF-8 (the byte order mark Excel writes in "CSV UTF-8" is dropped);
- `import_empty`: nothing in it, or nothing below the column names;
- `import_columns_missing`: the first line lacks a required column (`extra["missing"]`);
- `import_too_many_rows`: more than `max_rows` data rows;
- `file_corrupt`: a line the csv module cannot read, or one holding a NUL character.
Column names are matched without case or surrounding blanks, in any order; the delimiter is
",", or ";" or a tab where Excel wrote one (it uses ";" where the comma is the decimal mark).
Blank rows are skipped; cells are stripped; a missing optional column reads as "".

Writing the CSV files people download (statements, the bank's payout file): every export
goes through `csv_lines`/`csv_text`, which neutralise spreadsheet formulas (OWASP "CSV
injection"): a text cell starting with = + - @, a tab or a carriage return (or the
full-width = + - @) is written with an apostrophe in front, so a spreadsheet
shows it as text instead of running it (`=HYPERLINK(...)` in a payee's name would otherwise
become a link in the bank file, or exfiltrate the account number beside it). Numbers are
passed as `Decimal`/`int` and written as they are: a number cannot hold a formula, and a
negative amount must stay a number (`-12.30`, not `'-12.30`). Escaping is therefore decided by
the cell's type, not by each export remembering which columns are text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.utils.translation import gettext as _

from .errors import DomainError

#: The codes of a file refused as a whole (a form shows them on its file field).
FILE_ERRORS = (
    "file_too_large",
    "file_encoding",
    "import_empty",
    "import_columns_missing",
    "import_too_many_rows",
    "file_corrupt",
)


def read_csv(
    data: bytes,
    *,
    columns: tuple[str, ...],
    optional: tuple[str, ...] = (),
    max_bytes: int,
    max_rows: int,
    error: type[DomainError] = DomainError,
) -> list[tuple[int, dict[str, str]]]:
    """(line number in the file, {column: text}) for every non-blank data row."""
    if len(data) > max_bytes:
        raise error(
            "file_too_large",
            _("The file is larger than %(mb)d MB; split it into smaller files.") % {"mb": max_bytes // (1024 * 1024)},
            {"max_bytes": max_bytes},
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            "file_encoding", _("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”.")
        ) from exc
    if "\x00" in text:
        # Python's csv reads NUL, PostgreSQL refuses it in text: no spreadsheet writes one.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise error("file_corrupt", _("Line %(line)d could not be read as CSV.") % {"line": line})
    if not text.strip():
        raise error("import_empty", _("The file is empty."))
    first = text.splitlines()[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = [name.strip().lower() for name in next(reader)]
        missing = [name for name in columns if name not in header]
        if missing:
            raise error(
                "import_columns_missing",
                _("The first line must name the columns %(columns)s; missing: %(missing)s.")
                % {"columns": ", ".join(columns), "missing": ", ".join(missing)},
                {"missing": missing},
            )
        index = {name: header.index(name) for name in (*columns, *optional) if name in header}
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == max_rows:
                raise error(
                    "import_too_many_rows",
                    _("The file has more than %(max)d rows; split it into smaller files.") % {"max": max_rows},
                    {"max_rows": max_rows},
                )
            values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()}
            rows.append((reader.line_num, {name: values.get(name, "") for name in (*columns, *optional)}))
    except csv.Error as exc:
        raise error("file_corrupt", _("Line %(line)d could not be read as CSV.") % {"line": reader.line_num}) from exc
    if not rows:
        raise error("import_empty", _("The file has no rows below the column names."))
    return rows


# --- Writing ------------------------------------------------------------------------------

#: A text cell starting with one of these is read as a formula by Excel, LibreOffice or
#: Google Sheets (OWASP). The full-width forms are what a Chinese IME types: treated alike,
#: as escaping a text cell costs its reader nothing.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value) -> str:
    """One cell as written: "" for None, a number as it is, any other value as text with an
    apostrophe in front when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return f"{value:f}" if isinstance(value, Decimal) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Sink:
    """A file-like target for csv.writer that hands back the line written last."""

    value = ""

    def write(self, value):
        self.value = value


def csv_lines(rows: Iterable[Iterable], *, bom: bool = False) -> Iterator[str]:
    """The CSV text of `rows`, one line at a time (for a streaming response), every cell
    through `csv_cell`. With `bom`, the first line starts with the byte order mark Excel
    needs to open UTF-8 with the right encoding."""
    sink = _Sink()
    writer = csv.writer(sink)
    for n, row in enumerate(rows):
        writer.writerow([csv_cell(value) for value in row])
        yield ("\ufeff" if bom and n == 0 else "") + sink.value


def csv_text(rows: Iterable[Iterable], *, bom: bool = False) -> str:
    """The whole CSV text of `rows` (see `csv_lines`)."""
    return "".join(csv_lines(rows, bom=bom))
