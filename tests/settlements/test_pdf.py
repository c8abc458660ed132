"""Statement and invoice PDFs: served to the merchant, with the right figures and in Chinese.

pypdf is not installed, so the text is read back from the content streams directly:
ReportLab writes them ASCII85 + Flate encoded, with text in literal strings shown by `Tj`
(Helvetica in WinAnsi for amounts, the CID font STSong-Light in UTF-16BE for the rest).
"""

from __future__ import annotations

import base64
import re
import zlib
from decimal import Decimal

import pytest
from django.utils import translation

from orders.models import MerchantOrder
from settlements import pdf, services
from tests.factories import UserFactory
from tests.settlements.test_portal import BASE, EN, _member, _october, _worked_example
from tests.settlements.test_runs import Shop, at

pytestmark = pytest.mark.django_db

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match):
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _ESCAPES.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def _pdf_text(data: bytes) -> str:
    """The text the PDF shows, in order, lines joined by spaces (whitespace collapsed)."""
    cid_fonts = set(re.findall(rb"/Name /(F\d+) /Subtype /Type0", data))
    shown = []
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = re.sub(rb"\s", b"", stream.group(1)).removesuffix(b"~>")
        try:
            content = zlib.decompress(base64.a85decode(raw))
        except (ValueError, zlib.error):
            continue
        font = b""
        for op in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            if op.group(1):
                font = op.group(1)
                continue
            text = _unescape(op.group(2))
            shown.append(text.decode("utf-16-be") if font in cid_fonts else text.decode("cp1252"))
    return " ".join(" ".join(shown).split())


def _assert_pdf(response, filename):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    data = response.content
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert 2_000 < len(data) < 200_000
    return data


def test_the_statement_pdf_has_the_lines_the_payable_and_the_orders_held_back(client):
    shop, _order, _line = _worked_example()
    held = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=held.pk).update(is_frozen=True)
    statement = _october(shop)
    client.force_login(_member(shop.merchant, "finance"))
    text = _pdf_text(_assert_pdf(client.get(f"{BASE}{statement.pk}/pdf", **EN), "statement-2026-10.pdf"))
    for expected in [
        "Marketplace",
        "Settlement statement 2026-10",
        "Hangzhou Bright Home Co., Ltd. (Bright Home)",
        "Goods paid by buyers",
        "¥430.48",
        "Platform discounts reimbursed",
        "¥5.00",
        "Shipping fees",
        "¥8.00",
        "-¥21.78",
        "Payable",
        "¥421.70",
        "Orders held back",
        held.number,
        "¥58.00",
        "A dispute about this order was open when the month was settled.",
    ]:
        assert expected in text, expected
    # The lines come in LINE_ORDER.
    positions = [text.index(label) for label in ["Goods paid by buyers", "Shipping fees", "Commission", "Payable"]]
    assert positions == sorted(positions)


def test_the_invoice_pdf_exists_once_issued(client):
    shop, _order, _line = _worked_example()
    statement = _october(shop)
    client.force_login(shop.merchant.owner)
    assert client.get(f"{BASE}{statement.pk}/invoice.pdf").status_code == 404
    invoice = services.invoice_issue(statement=statement, actor=UserFactory(is_staff=True))
    assert (invoice.commission, invoice.service_fees, invoice.total) == (
        Decimal("21.78"),
        Decimal("0.00"),
        Decimal("21.78"),
    )
    response = client.get(f"{BASE}{statement.pk}/invoice.pdf", **EN)
    text = _pdf_text(_assert_pdf(response, f"invoice-{invoice.number}.pdf"))
    for expected in [
        f"Invoice {invoice.number}",
        invoice.issued_at.astimezone(at(2026, 1, 1).tzinfo).date().isoformat(),
        "Hangzhou Bright Home Co., Ltd.",
        shop.merchant.social_credit_code,
        "Commission (less commission returned)",
        "¥21.78",
        "Service fees",
        "¥0.00",
        "Total",
        "2026-10",
    ]:
        assert expected in text, expected
    # Another merchant's owner cannot fetch it.
    client.force_login(Shop().merchant.owner)
    assert client.get(f"{BASE}{statement.pk}/invoice.pdf").status_code == 404


def test_the_pdfs_render_chinese(client):
    shop, _order, _line = _worked_example(Shop(company_name="杭州明亮家居有限公司", shop_name="明亮家居"))
    statement = _october(shop)
    client.force_login(shop.merchant.owner)
    data = _assert_pdf(client.get(f"{BASE}{statement.pk}/pdf", HTTP_ACCEPT_LANGUAGE="zh-hans"), "statement-2026-10.pdf")
    text = _pdf_text(data)
    assert "多商户商城" in text  # the platform's name, translated
    assert "杭州明亮家居有限公司 (明亮家居)" in text
    assert "¥421.70" in text

    invoice = services.invoice_issue(statement=statement, actor=UserFactory(is_staff=True))
    with translation.override("zh-hans"):
        text = _pdf_text(pdf.invoice_pdf(invoice))
    assert "多商户商城" in text
    assert "杭州明亮家居有限公司" in text
