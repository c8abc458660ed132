"""Buyer data shown to merchants (orders.masking): whole only while the merchant order is to
ship or in transit; masked before payment and after delivery; in every merchant-facing page,
API and export."""

from __future__ import annotations

import pytest

from orders.masking import mask_address, mask_email, mask_name, mask_phone
from orders.models import MerchantOrder
from promotions.marketing_views import daily_rows
from settlements import exports as settlement_exports
from tests.orders.test_portal_orders import build_world, ship

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FULL_ADDRESS = "上海市上海市浦东新区世纪大道 100 号"
MASKED_ADDRESS = "上海市上海市浦东新区****"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13800001234", "138****1234"), ("+8613800001234", "+86****1234"), ("1234567", "****"), ("", "")],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        (FULL_ADDRESS, MASKED_ADDRESS),
        ("广东省深圳市南山区科技园 1 栋", "广东省深圳市南山区****"),
        # A province ending in 自治区 is not the district.
        ("新疆维吾尔自治区乌鲁木齐市天山区解放路 5 号", "新疆维吾尔自治区乌鲁木齐市天山区****"),
        ("浙江省安吉县递铺街道 8 号", "浙江省安吉县****"),
        ("北京市长安街 1 号", "北京市****"),
        ("长安街 1 号", "****"),
        ("", ""),
    ],
)
def test_mask_address_stops_at_the_district(address, masked):
    assert mask_address(address) == masked


def test_mask_name_and_email():
    assert [mask_name("王伟"), mask_name("欧阳娜娜"), mask_name("王"), mask_name("")] == ["王*", "欧**", "*", ""]
    assert mask_email("wang.wei@example.com") == "w***@example.com"


def _set_status(order: MerchantOrder, status: str) -> None:
    MerchantOrder.objects.filter(pk=order.pk).update(status=status)


def _shown(client, w) -> tuple[str, str, dict, dict]:
    client.force_login(w.shop.owner)
    detail = client.get(f"/portal/orders/{w.mine.pk}/", **EN).content.decode()
    listing = client.get("/portal/orders/", **EN).content.decode()
    api_detail = client.get(f"/api/v1/orders/merchant/orders/{w.mine.pk}/", **EN).json()
    api_list = client.get("/api/v1/orders/merchant/orders/", **EN).json()
    row = next(r for r in api_list["results"] if r["id"] == w.mine.pk)
    return detail, listing, api_detail, row


def test_whole_while_the_order_is_to_ship_and_in_transit(client):
    w = build_world()
    for step in ("paid", "shipped"):
        if step == "shipped":
            ship(w.mine)
        detail, listing, api_detail, row = _shown(client, w)
        assert "13800000000" in detail and FULL_ADDRESS in detail and "王伟" in detail, step
        assert "王伟" in listing, step
        assert (api_detail["recipient"], api_detail["phone"], api_detail["address"]) == (
            "王伟",
            "13800000000",
            FULL_ADDRESS,
        ), step
        assert row["recipient"] == "王伟", step
        assert "contact-masked" not in detail


@pytest.mark.parametrize("status", ["delivered", "completed", "cancelled", "pending_payment"])
def test_masked_outside_shipping(client, status):
    w = build_world()
    ship(w.mine)
    _set_status(w.mine, status)
    detail, listing, api_detail, row = _shown(client, w)
    for page in (detail, listing):
        assert "13800000000" not in page and FULL_ADDRESS not in page and "王伟" not in page
    assert "138****0000" in detail and MASKED_ADDRESS in detail and "王*" in detail and "王*" in listing
    assert "contact-masked" in detail
    assert (api_detail["recipient"], api_detail["phone"], api_detail["address"]) == (
        "王*",
        "138****0000",
        MASKED_ADDRESS,
    )
    assert row["recipient"] == "王*"
    # Masking is what the merchant sees: the order itself keeps the whole address.
    buyer_order = w.mine.buyer_order
    buyer_order.refresh_from_db()
    assert (buyer_order.recipient, buyer_order.phone, buyer_order.address) == ("王伟", "13800000000", FULL_ADDRESS)


def test_merchant_pages_never_show_the_buyers_account(client):
    w = build_world()
    detail, listing, api_detail, row = _shown(client, w)
    for text in (detail, listing, str(api_detail), str(row)):
        assert w.buyer.email not in text


def test_merchant_exports_have_no_buyer_columns():
    # The statement CSV is the merchant's only export of orders: figures, no buyer data.
    header = [str(h) for h in settlement_exports._header()]
    for word in ("Buyer", "Recipient", "Phone", "Address", "E-mail", "Email"):
        assert not any(word.lower() in h.lower() for h in header), word


def test_the_marketing_csv_counts_buyers_but_names_none():
    # The portal's other export (a promotion's figures per day): counts, no personal columns.
    header = [str(h) for h in next(daily_rows([]))]
    for word in ("Recipient", "Phone", "Address", "mail"):
        assert not any(word.lower() in h.lower() for h in header), word
    assert list(daily_rows([]))[1:] == []
