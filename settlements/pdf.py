"""Statements and invoices as PDF documents (A4), in the language active when called.

Text is set in the Adobe CID font STSong-Light, which PDF readers provide, so Chinese
renders without shipping or downloading a font file. Amounts (¥, digits) are set in
Helvetica, whose standard encoding has the yen sign every reader can draw.
"""

from __future__ import annotations

import functools
import io
import itertools
from html import escape

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from marketplace.money import format_cny

from . import selectors
from .exports import detail_rows, frozen_reason
from .models import Invoice, Statement

FONT = "STSong-Light"
NUMBER_FONT = "Helvetica"
NUMBER_FONT_BOLD = "Helvetica-Bold"
#: Frozen orders listed in the PDF; the CSV and the portal page list every one.
FROZEN_LIMIT = 500
#: Subsidy, penalty and fee records listed in the PDF; the CSV lists every one.
DETAIL_LIMIT = 500
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN


@functools.cache
def _register_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    font = _register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=13)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=14, textColor=colors.grey),
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.grey),
        "amount": ParagraphStyle("amount", parent=base, fontName=NUMBER_FONT, alignment=TA_RIGHT),
    }


def _p(text, style="base") -> Paragraph:
    return Paragraph(escape(str(text)), _styles()[style])


def _amount(value) -> Paragraph:
    return Paragraph(escape(format_cny(value)), _styles()["amount"])


def _info_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(
        [[_p(label, "small"), _p(value)] for label, value in rows], colWidths=[42 * mm, WIDTH - 42 * mm], hAlign="LEFT"
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _data_table(header: list[str], rows: list[list], widths: list, *, total: list | None = None) -> Table:
    data = [[_p(text, "small") for text in header], *rows]
    if total is not None:
        data.append(total)
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total is not None:
        style += [("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black), ("BACKGROUND", (0, -1), (-1, -1), "#f3f4f6")]
    table.setStyle(TableStyle(style))
    return table


def _merchant_name(merchant) -> str:
    if merchant.shop_name and merchant.shop_name != merchant.company_name:
        return f"{merchant.company_name} ({merchant.shop_name})"
    return merchant.company_name


def _build(story: list, *, title: str) -> bytes:
    _register_font()
    buffer = io.BytesIO()
    platform = str(settings.PLATFORM_NAME)
    generated = _("Generated on %(date)s") % {"date": timezone.localdate().isoformat()}

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(doc.leftMargin, 12 * mm, f"{platform} · {title} · {generated}")
        canvas.drawRightString(A4[0] - doc.rightMargin, 12 * mm, str(doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=20 * mm,
        title=title,
        author=platform,
        creator=platform,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def statement_pdf(statement: Statement) -> bytes:
    """The statement: merchant, period, its lines in LINE_ORDER, the payable, the records
    behind its subsidy, penalty and fee lines (the first DETAIL_LIMIT) and the orders held
    back by a dispute (the first FROZEN_LIMIT of them)."""
    merchant = statement.merchant
    platform = str(settings.PLATFORM_NAME)
    title = _("Settlement statement %(period)s") % {"period": statement.period}
    story = [
        _p(platform, "subtitle"),
        _p(title, "title"),
        Spacer(1, 4 * mm),
        _info_table(
            [
                (_("Merchant"), _merchant_name(merchant)),
                (_("Unified social credit code"), merchant.social_credit_code or "—"),
                (_("Period"), statement.period),
                (_("Status"), statement.get_status_display()),
                (
                    pgettext("approval date", "Approved"),
                    timezone.localtime(statement.approved_at).date().isoformat() if statement.approved_at else "—",
                ),
            ]
        ),
        _p(_("Statement lines"), "heading"),
    ]
    lines = selectors.statement_lines_for_merchant(merchant.pk, statement)
    bold_amount = ParagraphStyle("amount-bold", parent=_styles()["amount"], fontName=NUMBER_FONT_BOLD)
    story.append(
        _data_table(
            [_("Item"), _("Records"), _("Amount")],
            [[_p(line.get_kind_display()), _p(line.count), _amount(line.amount)] for line in lines],
            [WIDTH - 60 * mm, 22 * mm, 38 * mm],
            total=[_p(_("Payable")), "", Paragraph(escape(format_cny(statement.payable)), bold_amount)],
        )
    )
    if statement.payable < 0:
        story.append(Spacer(1, 2 * mm))
        story.append(_p(_("The payable is negative: it is carried forward to your next statement."), "small"))

    details = list(itertools.islice(detail_rows(statement), DETAIL_LIMIT + 1))
    if details:
        story.append(_p(_("Subsidies, penalties and service fees"), "heading"))
        rows = [
            [_p(row.record), _p(row.order or row.reference), _p(row.date or "—"), _amount(row.amount), _p(row.note)]
            for row in details[:DETAIL_LIMIT]
        ]
        story.append(
            _data_table(
                [_("Item"), _("Order or reference"), _("Date"), _("Amount"), _("Note")],
                rows,
                [32 * mm, 40 * mm, 22 * mm, 26 * mm, WIDTH - 120 * mm],
            )
        )
        if len(details) > DETAIL_LIMIT:
            story.append(_p(_("More records: the CSV file lists all of them."), "small"))

    frozen = list(selectors.frozen_orders_for_merchant(merchant.pk, statement)[: FROZEN_LIMIT + 1])
    story.append(_p(_("Orders held back"), "heading"))
    if frozen:
        story.append(
            _p(_("These orders were not paid in this statement: they are paid once their dispute is decided."), "small")
        )
        story.append(Spacer(1, 2 * mm))
        rows = [
            [
                _p(item.merchant_order.number),
                _p(
                    timezone.localtime(item.merchant_order.completed_at).date().isoformat()
                    if item.merchant_order.completed_at
                    else "—"
                ),
                _amount(item.amount),
                _p(frozen_reason(item.reason)),
            ]
            for item in frozen[:FROZEN_LIMIT]
        ]
        story.append(
            _data_table(
                [_("Order"), _("Completed"), _("Held"), _("Reason")],
                rows,
                [48 * mm, 24 * mm, 30 * mm, WIDTH - 102 * mm],
            )
        )
        if len(frozen) > FROZEN_LIMIT:
            story.append(_p(_("More orders are held back: the CSV file lists all of them."), "small"))
    else:
        story.append(_p(_("No order was held back.")))
    return _build(story, title=title)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The platform's invoice to the merchant for a statement's commission and service fees."""
    merchant = invoice.merchant
    platform = str(settings.PLATFORM_NAME)
    title = _("Invoice %(number)s") % {"number": invoice.number}
    bold_amount = ParagraphStyle("amount-bold", parent=_styles()["amount"], fontName=NUMBER_FONT_BOLD)
    story = [
        _p(platform, "subtitle"),
        _p(title, "title"),
        Spacer(1, 4 * mm),
        _info_table(
            [
                (_("Invoice number"), invoice.number),
                (_("Date"), timezone.localtime(invoice.issued_at).date().isoformat()),
                (_("Issued by"), platform),
                (_("Billed to"), merchant.company_name),
                (_("Unified social credit code"), merchant.social_credit_code or "—"),
                (_("Statement period"), invoice.statement.period),
            ]
        ),
        _p(_("Charges"), "heading"),
        _data_table(
            [_("Item"), _("Amount")],
            [
                [_p(_("Commission (less commission returned)")), _amount(invoice.commission)],
                [_p(_("Service fees")), _amount(invoice.service_fees)],
            ],
            [WIDTH - 38 * mm, 38 * mm],
            total=[_p(_("Total")), Paragraph(escape(format_cny(invoice.total)), bold_amount)],
        ),
    ]
    return _build(story, title=title)
