"""A statement as CSV for the merchant: one row per source record, then the totals.

Rows: every settled merchant order (its amounts summed from its frozen order lines), every
settled refund line and shipping refund, every frozen order (listed, not paid), every manual
adjustment, every logistics-subsidy accrual paid (its carrier and what the yearly cap cut)
and clawed back, every grant paid, penalty and service fee deducted (issue #14), then one
total per statement line in LINE_ORDER and the payable. Amount columns
carry the sign they have on the statement, so each column sums to its line, and the
`Amount` column of the source rows plus the carried-forward and rebate totals sums to the
payable.

The file is UTF-8 with a byte order mark so Excel opens it with the right encoding. It is
written by the kernel's CSV writer (marketplace.csvfiles), which neutralises text cells a
spreadsheet would read as a formula; amounts are passed as Decimals so they stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.csvfiles import csv_lines
from marketplace.money import quantize

from . import selectors
from .models import Statement

FROZEN_REASONS = {
    "open dispute": gettext_lazy("A dispute about this order was open when the month was settled."),
}


def frozen_reason(reason: str) -> str:
    """The merchant-facing wording of a frozen order's recorded reason."""
    return str(FROZEN_REASONS.get(reason, reason))


def _money(value: Decimal | None) -> Decimal | str:
    return "" if value is None else quantize(value)


def _date(value) -> str:
    return timezone.localtime(value).date().isoformat() if value else ""


def statement_csv(statement: Statement, *, chunk_size: int = 2000) -> Iterator[str]:
    """The statement's CSV, line by line (the first starts with the BOM), for a streaming
    response. The language active now is used for the whole file, however late it is read."""
    language = translation.get_language()

    def lines():
        with translation.override(language):
            yield from csv_lines(_rows(statement, chunk_size), bom=True)

    return lines()


#: Four empty amount columns: the order columns on a refund row, the refund columns on an order row.
_BLANK4 = ("", "", "", "")


def _rows(statement: Statement, chunk_size: int) -> Iterator[list]:
    """The header, the source records (orders, refunds, frozen orders, adjustments, subsidies,
    penalties and fees) and the totals."""
    merchant = statement.merchant_id
    yield _header()
    yield from _settled_order_rows(merchant, statement, chunk_size)
    yield from _refund_rows(merchant, statement, chunk_size)
    yield from _frozen_order_rows(merchant, statement, chunk_size)
    yield from _adjustment_rows(merchant, statement, chunk_size)
    yield from _detail_rows(statement, chunk_size)
    yield from _total_rows(merchant, statement)


def _header() -> list:
    return [
        _("Record"),
        _("Reference"),
        _("Order"),
        _("Date"),
        _("Goods paid"),
        _("Platform discount"),
        _("Shipping"),
        _("Commission"),
        _("Refunded"),
        _("Shipping refunded"),
        _("Platform discount taken back"),
        _("Commission returned"),
        _("Held"),
        _("Amount"),
        _("Note"),
    ]


def _settled_order_rows(merchant: int, statement: Statement, chunk_size: int) -> Iterator[list]:
    """A settled order: what the buyer paid for goods and shipping, the platform's discount,
    less the commission; its amount is their sum."""
    for order in selectors.settled_orders_for_merchant(merchant, statement).iterator(chunk_size=chunk_size):
        goods, discount, commission = order.goods, order.platform_discount, -order.commission
        yield [
            _("Settled order"),
            order.number,
            order.number,
            _date(order.completed_at),
            _money(goods),
            _money(discount),
            _money(order.shipping_fee),
            _money(commission),
            *_BLANK4,
            "",
            _money(goods + discount + order.shipping_fee + commission),
            "",
        ]


def _refund_rows(merchant: int, statement: Statement, chunk_size: int) -> Iterator[list]:
    """A refund line (or a shipping refund): the money and platform discount given back, less
    the commission returned to the merchant; its amount is their sum."""
    for row in selectors.settled_refunds_for_merchant(merchant, statement).iterator(chunk_size=chunk_size):
        refund = row.refund
        if row.refund_line_id is None:
            record, note = _("Shipping refund"), ""
        else:
            line = row.refund_line.order_line
            record, note = _("Refund"), f"{line.product_title} ({line.sku_code})"
        refunded, shipping, back, returned = (
            -row.amount,
            -row.shipping_amount,
            -row.discount_back,
            row.commission_returned,
        )
        yield [
            record,
            refund.reference,
            refund.merchant_order.number,
            _date(refund.completed_at),
            *_BLANK4,
            _money(refunded),
            _money(shipping),
            _money(back),
            _money(returned),
            "",
            _money(refunded + shipping + back + returned),
            note,
        ]


def _frozen_order_rows(merchant: int, statement: Statement, chunk_size: int) -> Iterator[list]:
    """A frozen order: held, not paid (no amount), with why (its open disputes)."""
    for frozen in selectors.frozen_orders_for_merchant(merchant, statement).iterator(chunk_size=chunk_size):
        yield [
            _("Frozen order"),
            frozen.merchant_order.number,
            frozen.merchant_order.number,
            _date(frozen.merchant_order.completed_at),
            *_BLANK4,
            *_BLANK4,
            _money(frozen.amount),
            "",
            " ".join([frozen_reason(frozen.reason), *(str(r.dispute) for r in frozen.merchant_order.disputed)]),
        ]


def _adjustment_rows(merchant: int, statement: Statement, chunk_size: int) -> Iterator[list]:
    """A manual adjustment: its amount and the reason staff gave."""
    for adjustment in selectors.adjustments_for_merchant(merchant, statement).iterator(chunk_size=chunk_size):
        yield [
            _("Manual adjustment"),
            "",
            "",
            _date(adjustment.created_at),
            *_BLANK4,
            *_BLANK4,
            "",
            _money(adjustment.amount),
            adjustment.reason,
        ]


def subsidy_note(accrual) -> str:
    """An accrual's carrier and, when the merchant's yearly cap took some off, what it cut."""
    carrier = accrual.merchant_order.shipped_carrier
    if not accrual.cut:
        return _("Carrier %(carrier)s") % {"carrier": carrier}
    return _("Carrier %(carrier)s; due %(due)s, cut by the yearly cap %(cut)s") % {
        "carrier": carrier,
        "due": quantize(accrual.due),
        "cut": quantize(accrual.cut),
    }


class DetailRow(NamedTuple):
    """A record behind a subsidy, penalty or service-fee line, as the CSV and the PDF list it."""

    record: str
    reference: str
    order: str
    date: str
    amount: Decimal
    note: str


def detail_rows(statement: Statement, *, chunk_size: int = 2000) -> Iterator[DetailRow]:
    """The records behind the statement's subsidy, penalty and service-fee lines (issue #14),
    each signed as on the statement: the logistics accruals paid here (after the yearly cap)
    and clawed back here (their order fully refunded since), the grants paid, the penalties
    and the service fees deducted (a fee's relief in its note). The statement must be the
    merchant's already (its selector)."""
    merchant = statement.merchant_id
    accruals = selectors.statement_subsidy_accruals(statement).select_related("statement")
    for accrual in accruals.iterator(chunk_size=chunk_size):
        number, code, completed = accrual.merchant_order.number, accrual.programme.code, _date(accrual.completed_at)
        if accrual.statement_id == statement.pk:
            yield DetailRow(_("Logistics subsidy"), code, number, completed, accrual.amount, subsidy_note(accrual))
        if accrual.clawed_back_in_id == statement.pk:
            note = _("Paid in %(period)s; the order was fully refunded") % {"period": accrual.statement.period}
            yield DetailRow(_("Logistics subsidy clawed back"), code, number, completed, -accrual.amount, note)
    for grant in selectors.statement_grants(statement):
        note = f"{grant.programme.name}: {grant.project}"
        yield DetailRow(
            _("Subsidy grant"), grant.programme.code, "", _date(grant.decided_at), grant.approved_amount, note
        )
    for penalty in selectors.penalties_for_merchant_statement(merchant, statement):
        number = penalty.merchant_order.number if penalty.merchant_order_id else ""
        note = f"{penalty.get_kind_display()}: {penalty.reason}"
        yield DetailRow(_("Penalty"), f"P{penalty.pk}", number, _date(penalty.raised_at), -penalty.amount, note)
    for charge in selectors.fee_charges_for_merchant_statement(merchant, statement):
        note = charge.description
        if charge.relief:
            note = _("%(description)s (%(gross)s less relief %(relief)s)") % {
                "description": charge.description,
                "gross": quantize(charge.gross),
                "relief": quantize(charge.relief),
            }
        yield DetailRow(_("Service fee"), charge.key, "", charge.billed_on.isoformat(), -charge.amount, note)


def _detail_rows(statement: Statement, chunk_size: int) -> Iterator[list]:
    for row in detail_rows(statement, chunk_size=chunk_size):
        yield [row.record, row.reference, row.order, row.date, *_BLANK4, *_BLANK4, "", _money(row.amount), row.note]


def _total_rows(merchant: int, statement: Statement) -> Iterator[list]:
    """One total per statement line, then the payable."""
    for line in selectors.statement_lines_for_merchant(merchant, statement):
        yield [_("Total"), line.kind, "", "", *_BLANK4, *_BLANK4, "", _money(line.amount), line.get_kind_display()]
    yield [_("Payable"), "", "", "", *_BLANK4, *_BLANK4, "", _money(statement.payable), ""]
