"""Merchant portal statements: who sees them, the figures of domain.md's worked example on
the page, the drill-downs, and the CSV file."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal
from unittest import mock

import pytest

from merchants.models import MerchantMember
from orders import services as order_services
from orders.models import MerchantOrder, Refund
from orders.services import RefundItem
from settlements import portal_views, services
from settlements.models import Statement
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _settle, at, platform_discount

pytestmark = pytest.mark.django_db

BASE = "/portal/statements/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _worked_example(shop=None):
    """domain.md's worked example: one order settled in October 2026, payable 421.70."""
    shop = shop or Shop()
    order = shop.completed_order(
        [("199.99", 2), ("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18)
    )
    line2 = order.lines.get(unit_price=Decimal("35.50"))
    # Line 2 carries a ¥5.00 platform discount in the example (promotions will set it).
    platform_discount(line2, Decimal("5.00"))
    return shop, order, line2


def _approve(statement):
    return services.statement_approve(statement=statement, actor=UserFactory(is_staff=True))


def _october(shop, *, approve=True):
    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = Statement.objects.get(merchant=shop.merchant, period="2026-10")
    return _approve(statement) if approve else statement


def _urls(statement) -> list[str]:
    return [f"{BASE}{statement.pk}/", f"{BASE}{statement.pk}/csv", f"{BASE}{statement.pk}/pdf"]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _rows(page: str, marker: str) -> list[list[str]]:
    """The cells of every row of the first table after `marker` (a section id, or any text)."""
    start = page.index(f'id="{marker}"' if re.fullmatch(r"[\w-]+", marker) else marker)
    table = page[page.index("<table", start) : page.index("</table>", start)]
    return [
        [_text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- Who sees what ------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    shop, _order, _line = _worked_example()
    statement = _october(shop)
    for url in [BASE, *_urls(statement), f"{BASE}{statement.pk}/invoice.pdf"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_permission_matrix(client):
    shop, _order, _line = _worked_example()
    statement = _october(shop)
    services.invoice_issue(statement=statement, actor=UserFactory(is_staff=True))
    urls = [BASE, *_urls(statement), f"{BASE}{statement.pk}/invoice.pdf"]

    for user in [UserFactory(), UserFactory(is_staff=True), _member(shop.merchant, "orders")]:
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
    for user in [shop.merchant.owner, _member(shop.merchant, "finance")]:
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user, url)

    other = Shop()
    client.force_login(other.merchant.owner)
    response = client.get(BASE, **EN)
    assert response.status_code == 200
    assert "2026-10" not in response.content.decode()
    for url in urls[1:]:
        assert client.get(url).status_code == 404, url
    assert client.get(f"{BASE}999999/").status_code == 404


def test_the_menu_links_statements_for_the_owner_and_finance_only(client):
    shop = Shop()
    for user, shown in [
        (shop.merchant.owner, True),
        (_member(shop.merchant, "finance"), True),
        (_member(shop.merchant, "orders"), False),
        (_member(shop.merchant, "catalog"), False),
    ]:
        client.force_login(user)
        page = client.get("/portal/", **EN).content.decode()
        assert (f'href="{BASE}"' in page) is shown, user
    client.force_login(shop.merchant.owner)
    page = client.get(BASE, **EN).content.decode()
    assert f'<a href="{BASE}" class="active" aria-current="page">Statements</a>' in page


def test_drafts_are_internal_to_finance(client):
    shop, _order, _line = _worked_example()
    statement = _october(shop, approve=False)
    client.force_login(shop.merchant.owner)
    page = client.get(BASE, **EN).content.decode()
    assert "No statements yet." in page
    assert "2026-10" not in page
    for url in _urls(statement):
        assert client.get(url).status_code == 404, url
    assert Statement.objects.get(pk=statement.pk).status == "draft"  # looking changed nothing

    _approve(statement)
    assert client.get(f"{BASE}{statement.pk}/").status_code == 200


# --- The pages ----------------------------------------------------------------------------------


def test_the_worked_example_on_the_statement_page(client):
    shop, order, _line = _worked_example()
    statement = _october(shop)
    client.force_login(_member(shop.merchant, "finance"))
    response = client.get(f"{BASE}{statement.pk}/", **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert _rows(page, "orders") == [
        ["Order", "Completed", "Goods paid", "Platform discount", "Shipping", "Commission"],
        [order.number, "2026-10-12", "¥430.48", "¥5.00", "¥8.00", "¥21.78"],
    ]
    assert _rows(page, "Statement lines</h2>") == [
        ["Item", "Records", "Amount"],
        ["Goods paid by buyers", "1", "¥430.48"],
        ["Platform discounts reimbursed", "1", "¥5.00"],
        ["Shipping fees", "1", "¥8.00"],
        ["Commission", "1", "-¥21.78"],
        ["Payable", "", "¥421.70"],
    ]
    # Each line leads to its source records; the finance member cannot open the order itself.
    assert '<a href="#orders">Goods paid by buyers</a>' in page
    assert f"/portal/orders/{order.pk}/" not in page
    assert "No refund was deducted in this statement." in page
    assert "No order was held back." in page
    assert "No manual adjustment in this statement." in page
    assert "The platform has not issued the invoice" in page
    assert 'id="carry-forward"' not in page

    # The owner also sees the orders section, so the order numbers link to the order pages.
    client.force_login(shop.merchant.owner)
    assert f'href="/portal/orders/{order.pk}/"' in client.get(f"{BASE}{statement.pk}/", **EN).content.decode()

    # The pages are translated (the menu entry, at least, already is).
    for url in [BASE, f"{BASE}{statement.pk}/"]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200
        assert "对账单" in response.content.decode()


def test_the_list_shows_period_payable_status_frozen_orders_and_downloads(client):
    shop, _order, _line = _worked_example()
    frozen = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=frozen.pk).update(is_frozen=True)
    statement = _october(shop)
    client.force_login(shop.merchant.owner)
    page = client.get(BASE, **EN).content.decode()
    assert _rows(page, "<h1>Statements</h1>") == [
        ["Period", "Payable", "Status", "Orders held back", "Downloads"],
        ["2026-10", "¥421.70", "Approved", "1", "CSV PDF"],
    ]
    assert f'href="{BASE}{statement.pk}/csv"' in page
    assert f'href="{BASE}{statement.pk}/pdf"' in page
    assert "invoice.pdf" not in page

    services.invoice_issue(statement=statement, actor=UserFactory(is_staff=True))
    payer = UserFactory(is_staff=True)
    batch = services.payout_batch_create(actor=payer)
    services.payout_mark_paid(payout=batch.payouts.get(), actor=payer, bank_reference="B1")
    page = client.get(BASE, **EN).content.decode()
    assert '<span class="badge statement-paid">Paid</span>' in page
    assert f'href="{BASE}{statement.pk}/invoice.pdf"' in page


def test_drill_downs_to_refunds_and_to_orders_held_back_by_a_dispute(client):
    shop, order, line2 = _worked_example()
    buyer = UserFactory()
    held = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2), buyer=buyer)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 25, 9)):
        request = order_services.after_sales_request_create(
            order=held, buyer=buyer, kind="refund", reason="Broken", items=[(held.lines.get().pk, 1, Decimal("50.00"))]
        )
        order_services.after_sales_reject(
            request=request, merchant=request.merchant_order.merchant, actor=shop.merchant.owner, note="It was fine"
        )
        dispute = order_services.after_sales_escalate(request=request, buyer=buyer, statement="It was broken")
    october = _october(shop)
    assert october.payable == Decimal("421.70")

    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 3, 10)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(line2.pk, Decimal("15.25"))], reason="partial"
        )
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = _approve(Statement.objects.get(merchant=shop.merchant, period="2026-11"))
    assert november.payable == Decimal("-16.86")  # the disputed order is still held back
    client.force_login(shop.merchant.owner)
    page = client.get(f"{BASE}{november.pk}/", **EN).content.decode()
    refund = Refund.objects.get()
    assert _rows(page, "refunds") == [
        [
            "Refund",
            "Order",
            "Completed",
            "Product",
            "Refunded",
            "Platform discount taken back",
            "Commission returned",
        ],
        [refund.reference, order.number, "2026-11-03", f"{line2.product_title} P35.50", "¥15.25", "¥2.50", "¥0.89"],
    ]
    assert '<a href="#refunds">Refunds</a>' in page
    reason = "A dispute about this order was open when the month was settled."
    assert _rows(page, "frozen")[1:] == [
        [held.number, "2026-10-02", "¥58.00", f"{dispute} · Open opened 2026-10-25", reason, "—"]
    ]
    assert f'href="/portal/orders/after-sales/{request.pk}/"' in page

    # Once decided, the order is paid with the next statement, and the earlier ones say so.
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 5, 9)):
        order_services.dispute_resolve(dispute=dispute, arbiter=UserFactory(is_staff=True), amount=0, note="No")
    _settle("2026-12", now=at(2027, 1, 1, 1))
    _approve(Statement.objects.get(merchant=shop.merchant, period="2026-12"))
    page = client.get(f"{BASE}{october.pk}/", **EN).content.decode()
    assert _rows(page, "frozen")[1:] == [
        [
            held.number,
            "2026-10-02",
            "¥58.00",
            f"{dispute} · Resolved opened 2026-10-25 · decided 2026-12-05",
            reason,
            "2026-12",
        ]
    ]


def test_carry_forward_and_adjustments_are_explained(client):
    shop, order, line2 = _worked_example()
    _october(shop)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 3, 10)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(line2.pk, Decimal("15.25"))], reason="partial"
        )
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = _approve(Statement.objects.get(period="2026-11"))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 10, 9)):
        services.adjustment_create(
            merchant=shop.merchant, period="2026-12", amount="100.00", reason="Goodwill", actor=UserFactory()
        )
    _settle("2026-12", now=at(2027, 1, 1, 1))
    december = _approve(Statement.objects.get(period="2026-12"))
    client.force_login(shop.merchant.owner)

    page = client.get(f"{BASE}{november.pk}/", **EN).content.decode()
    assert "The payable is negative" in page
    page = client.get(f"{BASE}{december.pk}/", **EN).content.decode()
    assert _rows(page, "adjustments") == [["Date", "Amount", "Reason"], ["2026-12-10", "¥100.00", "Goodwill"]]
    assert "Your statement for 2026-11 ended with a negative payable of -¥16.86." in page
    assert f'href="{BASE}{november.pk}/"' in page
    assert '<a href="#carry-forward">Carried forward from the previous statement</a>' in page
    assert "¥83.14" in page


def test_settled_orders_are_paginated(client, monkeypatch):
    monkeypatch.setattr(portal_views, "PAGE_SIZE", 1)
    shop = Shop()
    first = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    second = shop.completed_order([("20.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 3))
    statement = _october(shop)
    client.force_login(shop.merchant.owner)
    page = client.get(f"{BASE}{statement.pk}/", **EN).content.decode()
    assert [row[0] for row in _rows(page, "orders")[1:]] == [first.number]
    assert 'href="?orders_page=2#orders"' in page
    page = client.get(f"{BASE}{statement.pk}/?orders_page=2", **EN).content.decode()
    assert _rows(page, "orders")[1] == [second.number, "2026-10-03", "¥20.00", "¥0.00", "¥8.00", "¥1.00"]
    assert "Page 2 of 2" in page


# --- CSV ----------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_source_record_and_the_totals(client):
    shop, order, _line2 = _worked_example()
    held = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=held.pk).update(is_frozen=True)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 20, 10)):
        services.adjustment_create(
            merchant=shop.merchant, period="2026-10", amount="-12.30", reason="=Late shipping", actor=UserFactory()
        )
    statement = _october(shop)
    client.force_login(_member(shop.merchant, "finance"))
    response = client.get(f"{BASE}{statement.pk}/csv", **EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-10.csv"'
    blank = ["", "", "", ""]
    settled = ["430.48", "5.00", "8.00", "-21.78"]
    reason = "A dispute about this order was open when the month was settled."
    assert _csv(response) == [
        [
            "Record",
            "Reference",
            "Order",
            "Date",
            "Goods paid",
            "Platform discount",
            "Shipping",
            "Commission",
            "Refunded",
            "Shipping refunded",
            "Platform discount taken back",
            "Commission returned",
            "Held",
            "Amount",
            "Note",
        ],
        ["Settled order", order.number, order.number, "2026-10-12", *settled, *blank, "", "421.70", ""],
        ["Frozen order", held.number, held.number, "2026-10-02", *blank, *blank, "58.00", "", reason],
        ["Manual adjustment", "", "", "2026-10-20", *blank, *blank, "", "-12.30", "'=Late shipping"],
        ["Total", "goods", "", "", *blank, *blank, "", "430.48", "Goods paid by buyers"],
        ["Total", "platform_discounts", "", "", *blank, *blank, "", "5.00", "Platform discounts reimbursed"],
        ["Total", "shipping", "", "", *blank, *blank, "", "8.00", "Shipping fees"],
        ["Total", "commission", "", "", *blank, *blank, "", "-21.78", "Commission"],
        ["Total", "adjustments", "", "", *blank, *blank, "", "-12.30", "Manual adjustments"],
        ["Payable", "", "", "", *blank, *blank, "", "409.40", ""],
    ]


def test_the_csv_lists_refunds_with_their_reversals(client):
    shop, order, line2 = _worked_example()
    _october(shop)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 3, 10)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(line2.pk, Decimal("15.25"))], reason="partial"
        )
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = _approve(Statement.objects.get(period="2026-11"))
    client.force_login(shop.merchant.owner)
    rows = _csv(client.get(f"{BASE}{november.pk}/csv", **EN))
    blank = ["", "", "", ""]
    reference = Refund.objects.get().reference
    note = f"{line2.product_title} (P35.50)"
    assert rows[1:] == [
        [
            "Refund",
            reference,
            order.number,
            "2026-11-03",
            *blank,
            "-15.25",
            "0.00",
            "-2.50",
            "0.89",
            "",
            "-16.86",
            note,
        ],
        ["Total", "refunds", "", "", *blank, *blank, "", "-15.25", "Refunds"],
        ["Total", "shipping_refunds", "", "", *blank, *blank, "", "0.00", "Shipping refunds"],
        ["Total", "discounts_taken_back", "", "", *blank, *blank, "", "-2.50", "Platform discounts taken back"],
        ["Total", "commission_returned", "", "", *blank, *blank, "", "0.89", "Commission returned"],
        ["Payable", "", "", "", *blank, *blank, "", "-16.86", ""],
    ]
