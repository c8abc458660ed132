"""Reading the CSV files people upload (stock levels, shipments, the bank's payout results).

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
"""

from __future__ import annotations

import csv
import io

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
