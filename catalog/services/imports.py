"""Stock levels imported from a CSV file (columns sku_code, warehouse_code, on_hand).

Guarantees:
- all or nothing: every row is checked first (unknown SKU code of this merchant, unknown or
  foreign warehouse, on hand not a whole number or negative, below the reserved units,
  the same SKU and warehouse twice) and any problem refuses the whole file with every
  row-level error and its line number; nothing is written;
- a good file is applied in one transaction through `stock_set_levels` (bulk: receipts for
  empty or new levels, adjustments otherwise, reason "CSV import"), so every change writes its
  movement and opens or closes the stock alert like any other change;
- the existing stock rows are locked in primary-key order before anything is written
  (`SELECT … FOR UPDATE`, giving up with `stock_busy` after the lock timeout), and the
  reserved units are checked again under the lock: an order reserving meanwhile refuses
  the file rather than letting on hand fall below what is promised;
- files are limited to `MAX_BYTES` and `MAX_ROWS` data rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.csvfiles import read_csv

from ..errors import CatalogError
from ..models import SKU, Stock, Warehouse
from ..selectors import warehouse_list_for_merchant
from .stock import skus_check_owner, stock_lock_rows, stock_set_levels

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = ("sku_code", "warehouse_code", "on_hand")
REASON = "CSV import"
# Stock.on_hand is a PostgreSQL integer.
MAX_ON_HAND = 2_147_483_647
_DIGITS = re.compile(r"^\+?[0-9]+$")
_NEGATIVE = re.compile(r"^-[0-9]+$")


@dataclass(frozen=True)
class ImportRow:
    line: int
    sku: SKU
    warehouse: Warehouse
    on_hand: int


@dataclass
class ImportSummary:
    rows: int = 0
    received: int = 0
    adjusted: int = 0
    unchanged: int = 0
    lines: list[dict] = field(default_factory=list)


def _row_error(line: int, code: str, message: str) -> dict:
    return {"line": line, "code": code, "message": message}


def stock_import_read(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every non-blank data row; file-level problems
    (size, encoding, columns, no rows, too many rows) raise `CatalogError`."""
    return read_csv(data, columns=COLUMNS, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, error=CatalogError)


def _parse_on_hand(text: str) -> tuple[int | None, tuple[str, str] | None]:
    if _NEGATIVE.match(text):
        return None, ("negative_on_hand", _("On hand cannot be negative (“%(value)s”).") % {"value": text})
    if not _DIGITS.match(text) or int(text) > MAX_ON_HAND:
        return None, (
            "invalid_on_hand",
            _("On hand must be a whole number, 0 or more (“%(value)s”).") % {"value": text},
        )
    return int(text), None


def stock_import_validate(*, merchant, rows) -> tuple[list[ImportRow], list[dict]]:
    """Check every row against the merchant's SKUs, warehouses and reserved units.

    Reads only; returns the rows to apply and every error found ({line, code, message}).
    """
    codes = {values["sku_code"] for _line, values in rows if values["sku_code"]}
    skus = {s.code: s for s in SKU.objects.filter(merchant=merchant, code__in=codes)}
    warehouse_codes = {values["warehouse_code"] for _line, values in rows if values["warehouse_code"]}
    warehouses = {w.code: w for w in warehouse_list_for_merchant(merchant).filter(code__in=warehouse_codes)}
    reserved = {
        (sku_id, warehouse_id): units
        for sku_id, warehouse_id, units in Stock.objects.filter(
            sku__in=skus.values(), warehouse__in=warehouses.values()
        ).values_list("sku_id", "warehouse_id", "reserved")
    }

    plan: list[ImportRow] = []
    errors: list[dict] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, values in rows:
        sku_code, warehouse_code = values["sku_code"], values["warehouse_code"]
        problems: list[tuple[str, str]] = []
        sku = skus.get(sku_code)
        if not sku_code:
            problems.append(("sku_code_required", _("The SKU code is empty.")))
        elif sku is None:
            problems.append(("unknown_sku", _("You have no SKU with the code “%(code)s”.") % {"code": sku_code}))
        warehouse = warehouses.get(warehouse_code)
        if not warehouse_code:
            problems.append(("warehouse_code_required", _("The warehouse code is empty.")))
        elif warehouse is None:
            # Another merchant's warehouse reads as unknown: codes cannot be probed.
            problems.append(
                (
                    "unknown_warehouse",
                    _("No open warehouse with the code “%(code)s” is available to you.") % {"code": warehouse_code},
                )
            )
        on_hand, problem = _parse_on_hand(values["on_hand"])
        if problem:
            problems.append(problem)
        key = (sku_code, warehouse_code)
        if sku_code and warehouse_code:
            if key in first_line:
                problems.append(
                    (
                        "duplicate_row",
                        _("This SKU and warehouse are already on line %(line)d.") % {"line": first_line[key]},
                    )
                )
            else:
                first_line[key] = line
        if sku and warehouse and on_hand is not None:
            held = reserved.get((sku.pk, warehouse.pk), 0)
            if on_hand < held:
                problems.append(
                    (
                        "below_reserved",
                        _("%(n)d units are reserved for orders; on hand cannot go below that.") % {"n": held},
                    )
                )
        if problems:
            errors.extend(_row_error(line, code, message) for code, message in problems)
        else:
            plan.append(ImportRow(line=line, sku=sku, warehouse=warehouse, on_hand=on_hand))
    return plan, errors


def _refuse(errors: list[dict]) -> CatalogError:
    return CatalogError(
        "import_invalid",
        _("Nothing was imported: %(n)d problem(s) found. Correct the file and upload it again.") % {"n": len(errors)},
        {"errors": errors},
    )


@transaction.atomic
def stock_import_apply(*, plan: list[ImportRow], merchant, actor) -> ImportSummary:
    """`merchant` sets the on hand of every planned row, all in this one transaction (see
    the module); every SKU is checked to be the merchant's under the stock locks."""
    locked = stock_lock_rows((row.sku.pk, row.warehouse.pk) for row in plan)
    skus_check_owner(merchant, (row.sku for row in plan))
    late = [
        _row_error(
            row.line,
            "below_reserved",
            _("%(n)d units are reserved for orders; on hand cannot go below that.")
            % {"n": locked[(row.sku.pk, row.warehouse.pk)].reserved},
        )
        for row in plan
        if (row.sku.pk, row.warehouse.pk) in locked and row.on_hand < locked[(row.sku.pk, row.warehouse.pk)].reserved
    ]
    if late:
        raise _refuse(late)
    summary = ImportSummary(rows=len(plan))
    changed = stock_set_levels(
        merchant=merchant, levels=[(row.sku, row.warehouse, row.on_hand) for row in plan], actor=actor, reason=REASON
    )
    for row in plan:
        current = locked.get((row.sku.pk, row.warehouse.pk))
        before = current.on_hand if current else 0
        if (row.sku.pk, row.warehouse.pk) not in changed:
            outcome = "unchanged"
        elif before == 0:
            outcome = "received"
        else:
            outcome = "adjusted"
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        summary.lines.append(
            {
                "line": row.line,
                "sku": row.sku.code,
                "warehouse": row.warehouse.code,
                "before": before,
                "after": row.on_hand,
                "outcome": outcome,
            }
        )
    return summary


def stock_levels_import(*, merchant, actor, data: bytes) -> ImportSummary:
    """Read, check and apply a stock level CSV: every row, or none (see the module)."""
    rows = stock_import_read(data)
    plan, errors = stock_import_validate(merchant=merchant, rows=rows)
    if errors:
        raise _refuse(errors)
    return stock_import_apply(plan=plan, merchant=merchant, actor=actor)
