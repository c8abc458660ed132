"""Merchant portal pages of orders: list, detail, shipping, CSV shipping, merging parcels and
the after-sales queue. The builders at the top are shared with test_api.py and test_admin.py."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services as catalog_services
from catalog.models import SKU, Stock, Warehouse
from marketplace.errors import NotFoundError
from merchants.models import Merchant, MerchantMember
from orders import portal_views, services
from orders.errors import OrderConflict, OrderError
from orders.gateways import sandbox
from orders.models import (
    Address,
    AfterSalesRequest,
    BuyerOrder,
    MerchantOrder,
    OrderEvent,
    Refund,
    Shipment,
    ShipmentLine,
)
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db

BASE = "/portal/orders/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- Builders (also used by test_api.py and test_admin.py) ------------------------------------


def stocked_sku(merchant, category, wh: Warehouse, code: str, price: str, quantity: int = 50) -> SKU:
    item = product(merchant, category, title=f"Item {code}", skus=[{"code": code, "price": price}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        merchant=sku.merchant, sku=sku, warehouse=wh, quantity=quantity, actor=merchant.owner
    )
    return sku


def place(buyer, *items, address: Address | None = None) -> BuyerOrder:
    address = address or Address.objects.filter(buyer=buyer).first() or address_for(buyer)
    return services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(s.pk, q) for s, q in items])


def pay(order: BuyerOrder) -> BuyerOrder:
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    assert services.gateway_event_process(gateway="sandbox", event=event) == "paid"
    order.refresh_from_db()
    return order


def member(merchant: Merchant, role: str):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def ship(order: MerchantOrder, tracking="SF1") -> MerchantOrder:
    services.merchant_order_ship(
        order=order, merchant=order.merchant, actor=order.merchant.owner, carrier="SF", tracking_number=tracking
    )
    order.refresh_from_db()
    return order


def order_state(*orders) -> list[tuple]:
    """What a refused action must leave as it was: states, events, parcels, stock, refunds."""
    ids = [o.pk for o in orders]
    return [
        sorted(MerchantOrder.objects.filter(pk__in=ids).values_list("pk", "status", "shipped_at")),
        OrderEvent.objects.count(),
        sorted(Shipment.objects.values_list("pk", "status", "carrier", "tracking_number")),
        sorted(ShipmentLine.objects.values_list("pk", "shipment_id")),
        sorted(Stock.objects.values_list("pk", "on_hand", "reserved")),
        Refund.objects.count(),
        sorted(AfterSalesRequest.objects.values_list("pk", "status")),
    ]


@dataclass
class World:
    shop: Merchant
    other_shop: Merchant
    wh: Warehouse
    lamp: SKU
    cable: SKU
    mug: SKU
    buyer: object
    other_buyer: object
    multi: BuyerOrder  # the buyer's paid order from both shops
    mine: MerchantOrder  # its part from `shop`
    theirs: MerchantOrder  # its part from `other_shop`


def build_world() -> World:
    shop, (cat,) = live_merchant()
    other_shop, (other_cat,) = live_merchant()
    wh = warehouse(code="WH-EAST")
    lamp = stocked_sku(shop, cat, wh, "LAMP", "199.99")
    cable = stocked_sku(shop, cat, wh, "CABLE", "35.50")
    mug = stocked_sku(other_shop, other_cat, wh, "MUG", "20.00")
    buyer, other_buyer = UserFactory(), UserFactory()
    address_for(buyer)
    address_for(other_buyer)
    multi = pay(place(buyer, (lamp, 2), (mug, 1)))
    return World(
        shop=shop,
        other_shop=other_shop,
        wh=wh,
        lamp=lamp,
        cable=cable,
        mug=mug,
        buyer=buyer,
        other_buyer=other_buyer,
        multi=multi,
        mine=multi.merchant_orders.get(merchant=shop),
        theirs=multi.merchant_orders.get(merchant=other_shop),
    )


@pytest.fixture
def world() -> World:
    return build_world()


def _login(client, user):
    client.force_login(user)
    return client


def _refund_request(w: World, kind="refund") -> AfterSalesRequest:
    """A shipped order of `shop` with an open request for ¥100 on the lamps."""
    mine = ship(w.mine)
    line = mine.lines.get()
    return services.after_sales_request_create(
        order=mine, buyer=w.buyer, kind=kind, reason="Arrived broken", items=[(line.pk, 1, Decimal("100.00"))]
    )


# --- Access ---------------------------------------------------------------------------------------


def _get_urls(w: World, request_id: int) -> list[str]:
    return [
        BASE,
        f"{BASE}{w.mine.pk}/",
        BASE + "ship/import/",
        BASE + "merge/",
        BASE + "after-sales/",
        f"{BASE}after-sales/{request_id}/",
    ]


def _post_urls(w: World, request_id: int) -> list[str]:
    return [
        f"{BASE}{w.mine.pk}/ship/",
        f"{BASE}after-sales/{request_id}/accept/",
        f"{BASE}after-sales/{request_id}/reject/",
        f"{BASE}after-sales/{request_id}/return-received/",
    ]


def test_anonymous_users_are_sent_to_log_in(client, world):
    request = _refund_request(world)
    before = order_state(world.mine)
    for url in _get_urls(world, request.pk) + _post_urls(world, request.pk):
        response = client.post(url, {"carrier": "SF", "tracking_number": "X", "reason": "no"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    assert order_state(world.mine) == before


@pytest.mark.parametrize("who", ["buyer", "staff", "catalog", "finance"])
def test_users_without_the_orders_role_get_404_everywhere(client, world, who):
    request = _refund_request(world)
    user = {
        "buyer": lambda: world.buyer,
        "staff": lambda: UserFactory(is_staff=True, is_superuser=True),
        "catalog": lambda: member(world.shop, "catalog"),
        "finance": lambda: member(world.shop, "finance"),
    }[who]()
    _login(client, user)
    before = order_state(world.mine)
    for url in _get_urls(world, request.pk):
        assert client.get(url).status_code == 404, url
    for url in _post_urls(world, request.pk):
        assert client.post(url, {"carrier": "SF", "tracking_number": "X", "reason": "no"}).status_code == 404, url
    assert order_state(world.mine) == before


@pytest.mark.parametrize("role", ["owner", "orders"])
def test_owner_and_orders_members_see_every_page(client, world, role):
    request = _refund_request(world)
    _login(client, world.shop.owner if role == "owner" else member(world.shop, role))
    for url in _get_urls(world, request.pk):
        assert client.get(url, **EN).status_code == 200, url


def test_another_merchants_ids_answer_404_and_change_nothing(client, world):
    request = _refund_request(world)
    world.mine.refresh_from_db()
    _login(client, world.other_shop.owner)
    before = order_state(world.mine, world.theirs)
    assert client.get(f"{BASE}{world.mine.pk}/").status_code == 404
    assert client.get(f"{BASE}after-sales/{request.pk}/").status_code == 404
    for url in _post_urls(world, request.pk):
        assert client.post(url, {"carrier": "SF", "tracking_number": "X", "reason": "no"}).status_code == 404, url
    # Their own list holds their own part of the buyer order, never ours.
    listed = client.get(BASE).context["page"].object_list
    assert [o.number for o in listed] == [world.theirs.number]
    assert list(client.get(BASE + "after-sales/").context["page"].object_list) == []
    assert order_state(world.mine, world.theirs) == before


# --- List ---------------------------------------------------------------------------------------


def test_the_list_filters_and_paginates(client, world, monkeypatch):
    cable_order = place(world.buyer, (world.cable, 1)).merchant_orders.get()  # unpaid
    MerchantOrder.objects.filter(pk=world.mine.pk).update(is_frozen=True, after_sales_open=True)
    _login(client, world.shop.owner)

    def numbers(query=""):
        response = client.get(BASE + query, **EN)
        assert response.status_code == 200
        return [o.number for o in response.context["page"].object_list]

    assert numbers() == [cable_order.number, world.mine.number]
    assert numbers("?status=paid") == [world.mine.number]
    assert numbers("?status=pending_payment") == [cable_order.number]
    assert numbers(f"?number={world.multi.number.lower()}") == [world.mine.number]
    assert numbers(f"?number={cable_order.number}") == [cable_order.number]
    assert numbers("?is_frozen=true") == [world.mine.number]
    assert numbers("?after_sales_open=false") == [cable_order.number]
    today = world.mine.placed_at.astimezone().date().isoformat()
    assert numbers(f"?placed_from={today}&placed_to={today}") == [cable_order.number, world.mine.number]
    assert numbers("?placed_to=2000-01-01") == []
    assert "No order matches these filters." in client.get(BASE + "?placed_to=2000-01-01", **EN).content.decode()

    monkeypatch.setattr(portal_views, "PAGE_SIZE", 1)
    first = client.get(BASE + "?status=&is_frozen=", **EN)
    assert [o.number for o in first.context["page"].object_list] == [cable_order.number]
    assert "?status=&amp;is_frozen=&amp;page=2" in first.content.decode()
    assert numbers("?page=2") == [world.mine.number]


def test_a_reversed_date_range_is_refused(client, world):
    _login(client, world.shop.owner)
    response = client.get(BASE + "?placed_from=2026-02-01&placed_to=2026-01-01", **EN)
    assert response.status_code == 400
    assert response.context["filter_form"].errors == {"placed_to": ["The end date is before the start date."]}


def test_an_empty_list_says_so(client):
    shop, _cats = live_merchant()
    _login(client, shop.owner)
    response = client.get(BASE, **EN)
    assert "No orders yet. Orders appear here as soon as buyers place them." in response.content.decode()


# --- Detail -------------------------------------------------------------------------------------


def test_a_merchant_sees_only_its_own_lines_of_a_multi_merchant_order(client, world):
    _login(client, world.shop.owner)
    response = client.get(f"{BASE}{world.mine.pk}/", **EN)
    page = response.content.decode()
    lines = response.context["lines"]
    assert [(line.sku_code, line.quantity, line.paid, line.commission) for line in lines] == [
        ("LAMP", 2, Decimal("399.98"), Decimal("20.00"))
    ]
    assert "MUG" not in page
    assert "¥427.98" not in page  # the buyer order's total includes the other shop's part
    assert "¥399.98" in page
    assert "5 %" in page  # 10 % category rate × 0.5 launch policy
    buyer_order = world.multi
    for text in (buyer_order.recipient, buyer_order.phone, buyer_order.address, "WH-EAST"):
        assert text in page
    assert [(row["label"], row["to"], row["who"]) for row in response.context["timeline"]] == [
        ("Placed", "Pending payment", "Buyer"),
        ("Paid", "Paid", "System"),
    ]

    _login(client, world.other_shop.owner)
    theirs = client.get(f"{BASE}{world.theirs.pk}/", **EN)
    assert [(line.sku_code, line.paid) for line in theirs.context["lines"]] == [("MUG", Decimal("20.00"))]
    assert "LAMP" not in theirs.content.decode()


# --- Shipping -----------------------------------------------------------------------------------


def test_shipping_through_the_portal(client, world):
    clerk = member(world.shop, "orders")
    _login(client, clerk)
    response = client.post(f"{BASE}{world.mine.pk}/ship/", {"carrier": "SF Express", "tracking_number": "SF123"}, **EN)
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{world.mine.pk}/"
    world.mine.refresh_from_db()
    assert world.mine.status == "shipped"
    (parcel,) = Shipment.objects.filter(merchant=world.shop)
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "SF Express", "SF123")
    assert Stock.objects.filter(sku=world.lamp).values_list("on_hand", "reserved").get() == (48, 0)
    event = world.mine.events.get(action="ship")
    assert (event.actor, event.note) == (clerk, "SF Express SF123")
    assert world.theirs.__class__.objects.get(pk=world.theirs.pk).status == "paid"  # the other shop's part waits
    page = client.get(f"{BASE}{world.mine.pk}/", **EN)
    assert [(row["label"], row["who"]) for row in page.context["timeline"]][-1] == ("Shipped", str(clerk))
    assert not page.context["can_ship"]


def test_shipping_without_a_tracking_number_is_refused(client, world):
    _login(client, world.shop.owner)
    before = order_state(world.mine)
    response = client.post(f"{BASE}{world.mine.pk}/ship/", {"carrier": "SF", "tracking_number": "  "}, **EN)
    assert response.status_code == 400
    assert response.context["ship_form"].errors == {"tracking_number": ["This field is required."]}
    assert order_state(world.mine) == before


def test_shipping_an_order_twice_says_why_and_changes_nothing(client, world):
    ship(world.mine)
    _login(client, world.shop.owner)
    before = order_state(world.mine)
    response = client.post(
        f"{BASE}{world.mine.pk}/ship/", {"carrier": "ZTO", "tracking_number": "Z1"}, follow=True, **EN
    )
    assert [str(m) for m in response.context["messages"]] == ["This cannot be done while the order is “Shipped”."]
    assert order_state(world.mine) == before


# --- Shipping from a CSV file ---------------------------------------------------------------------


def _csv(text: str) -> dict:
    return {"file": SimpleUploadedFile("ship.csv", text.encode(), content_type="text/csv")}


def test_a_good_csv_ships_every_order_in_one_go(client, world):
    second = pay(place(world.other_buyer, (world.cable, 3))).merchant_orders.get()
    _login(client, world.shop.owner)
    text = f"order_number,carrier,tracking_number\n{world.mine.number},SF,SF100\n\n{second.number},ZTO,ZT200\n"
    response = client.post(BASE + "ship/import/", _csv(text), **EN)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.rows, summary.shipped) == (2, 2)
    assert summary.lines == [
        {"line": 2, "order": world.mine.number, "carrier": "SF", "tracking_number": "SF100", "with": []},
        {"line": 4, "order": second.number, "carrier": "ZTO", "tracking_number": "ZT200", "with": []},
    ]
    assert sorted(Shipment.objects.filter(merchant=world.shop).values_list("status", "tracking_number")) == [
        ("shipped", "SF100"),
        ("shipped", "ZT200"),
    ]
    assert set(MerchantOrder.objects.filter(merchant=world.shop).values_list("status", flat=True)) == {"shipped"}


def test_a_csv_with_bad_rows_ships_nothing_and_lists_every_problem(client, world):
    shipped = ship(pay(place(world.other_buyer, (world.cable, 1))).merchant_orders.get(), tracking="OLD")
    unpaid = place(world.other_buyer, (world.lamp, 1)).merchant_orders.get()
    _login(client, world.shop.owner)
    before = order_state(world.mine, world.theirs, shipped, unpaid)
    text = "\n".join(
        [
            "order_number,carrier,tracking_number",
            f"{world.mine.number},SF,SF1",
            "B000000000000000000-1,SF,SF2",
            f"{world.theirs.number},SF,SF3",
            f"{shipped.number},SF,SF4",
            f"{unpaid.number},,SF5",
            f"{world.mine.number},SF,SF6",
            ",SF,",
        ]
    )
    response = client.post(BASE + "ship/import/", _csv(text), **EN)
    assert response.status_code == 400
    assert response.context["row_errors"] == [
        {"line": 3, "code": "unknown_order", "message": "You have no order numbered “B000000000000000000-1”."},
        # Another merchant's order reads as unknown: numbers cannot be probed.
        {"line": 4, "code": "unknown_order", "message": f"You have no order numbered “{world.theirs.number}”."},
        {
            "line": 5,
            "code": "not_waiting_to_ship",
            "message": f"Order {shipped.number} is “Shipped”: only paid orders waiting to ship can be shipped.",
        },
        {"line": 6, "code": "carrier_required", "message": "The carrier is empty."},
        {
            "line": 6,
            "code": "not_waiting_to_ship",
            "message": f"Order {unpaid.number} is “Pending payment”: only paid orders waiting to ship can be shipped.",
        },
        {"line": 7, "code": "duplicate_order", "message": "This order is already on line 2."},
        {"line": 8, "code": "order_number_required", "message": "The order number is empty."},
        {"line": 8, "code": "tracking_number_required", "message": "The tracking number is empty."},
    ]
    assert "Nothing was shipped: 8 problem(s) found." in response.content.decode()
    assert order_state(world.mine, world.theirs, shipped, unpaid) == before


def test_a_csv_without_the_columns_is_refused(client, world):
    _login(client, world.shop.owner)
    before = order_state(world.mine)
    response = client.post(BASE + "ship/import/", _csv(f"order,tracking\n{world.mine.number},X\n"), **EN)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "The first line must name the columns order_number, carrier, tracking_number; missing: "
        "order_number, carrier, tracking_number."
    ]
    assert order_state(world.mine) == before


# --- Merging parcels ------------------------------------------------------------------------------


def _two_paid_orders(w: World):
    """Two more paid orders of the buyer from `shop`, same address, same warehouse."""
    first = pay(place(w.buyer, (w.cable, 1))).merchant_orders.get()
    second = pay(place(w.buyer, (w.cable, 2))).merchant_orders.get()
    return first, second


def test_merging_then_shipping_one_ships_the_whole_parcel(client, world):
    first, second = _two_paid_orders(world)
    _login(client, world.shop.owner)
    page = client.get(BASE + "merge/", **EN)
    ((group),) = page.context["groups"]
    assert [o.number for o in group["orders"]] == [world.mine.number, first.number, second.number]
    assert (group["parcels"], group["warehouse"].code) == (3, "WH-EAST")

    response = client.post(BASE + "merge/", {"orders": [first.pk, second.pk]}, **EN)
    assert response.status_code == 302
    (parcel,) = Shipment.objects.filter(lines__order_line__merchant_order__in=[first, second]).distinct()
    assert sorted(parcel.lines.values_list("order_line__merchant_order__number", "quantity")) == sorted(
        [(first.number, 1), (second.number, 2)]
    )
    assert Shipment.objects.filter(merchant=world.shop).count() == 2  # the lamps keep their own parcel
    assert first.events.get(action="merge").note == second.number
    assert Stock.objects.filter(sku=world.cable).values_list("on_hand", "reserved").get() == (50, 3)

    detail = client.get(f"{BASE}{second.pk}/", **EN)
    assert detail.context["merged_with"] == [first.number]
    response = client.post(f"{BASE}{second.pk}/ship/", {"carrier": "SF", "tracking_number": "SF9"}, follow=True, **EN)
    assert [str(m) for m in response.context["messages"]] == [
        f"Shipped, together with the orders in the same parcel: {first.number}."
    ]
    assert sorted(MerchantOrder.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == [
        "shipped",
        "shipped",
    ]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == ("shipped", "SF9")
    assert Stock.objects.filter(sku=world.cable).values_list("on_hand", "reserved").get() == (47, 0)
    assert [e.note for e in OrderEvent.objects.filter(action="ship", merchant_order__in=[first, second])] == [
        "SF SF9",
        "SF SF9",
    ]


def test_merging_refuses_orders_that_do_not_match(world):
    first, _second = _two_paid_orders(world)
    other_address = Address.objects.create(
        buyer=world.buyer,
        recipient="李娜",
        phone="13900000000",
        region="east",
        province="上海市",
        city="上海市",
        line="南京路 1 号",
    )
    elsewhere = pay(place(world.buyer, (world.cable, 1), address=other_address)).merchant_orders.get()
    strangers = pay(place(world.other_buyer, (world.cable, 1))).merchant_orders.get()
    unpaid = place(world.buyer, (world.cable, 1)).merchant_orders.get()
    far = warehouse(code="WH-FAR", region="west")
    cat = world.lamp.product.category
    far_sku = stocked_sku(world.shop, cat, far, "FAR", "10.00")
    remote = pay(place(world.buyer, (far_sku, 1))).merchant_orders.get()
    before = order_state(first, elsewhere, strangers, unpaid, remote, world.theirs)
    cases = [
        ([first], OrderError, "merge_needs_two_orders"),
        ([first, strangers], OrderError, "merge_buyer_differs"),
        ([first, elsewhere], OrderError, "merge_address_differs"),
        ([first, unpaid], OrderConflict, "merge_not_waiting_to_ship"),
        ([first, remote], OrderError, "merge_warehouse_differs"),
        ([first, world.theirs], NotFoundError, "not_found"),
    ]
    for orders, error, code in cases:
        with pytest.raises(error) as info:
            services.shipment_merge(merchant=world.shop, orders=orders, actor=world.shop.owner)
        assert info.value.code == code
    assert order_state(first, elsewhere, strangers, unpaid, remote, world.theirs) == before

    ship(world.mine)
    before = order_state(first, world.mine)
    with pytest.raises(OrderConflict) as info:
        services.shipment_merge(merchant=world.shop, orders=[first, world.mine], actor=world.shop.owner)
    assert info.value.code == "merge_not_waiting_to_ship"
    assert order_state(first, world.mine) == before


def test_merging_twice_and_foreign_ids_in_the_portal_are_refused(client, world):
    first, second = _two_paid_orders(world)
    services.shipment_merge(merchant=world.shop, orders=[first, second], actor=world.shop.owner)
    _login(client, world.shop.owner)
    before = order_state(first, second, world.theirs)
    response = client.post(BASE + "merge/", {"orders": [first.pk, world.theirs.pk]}, **EN)
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "orders": [f"Select a valid choice. {world.theirs.pk} is not one of the available choices."]
    }
    with pytest.raises(OrderError) as info:
        services.shipment_merge(merchant=world.shop, orders=[first, second], actor=world.shop.owner)
    assert info.value.code == "already_merged"
    assert order_state(first, second, world.theirs) == before


def test_a_csv_ships_a_merged_parcel_once(client, world):
    first, second = _two_paid_orders(world)
    services.shipment_merge(merchant=world.shop, orders=[first, second], actor=world.shop.owner)
    _login(client, world.shop.owner)
    before = order_state(first, second)
    text = f"order_number,carrier,tracking_number\n{first.number},SF,SF1\n{second.number},SF,SF2\n"
    response = client.post(BASE + "ship/import/", _csv(text), **EN)
    assert response.context["row_errors"] == [
        {
            "line": 3,
            "code": "parcel_tracking_differs",
            "message": f"This order travels in one parcel with order {first.number} (line 2): "
            "give the same carrier and tracking number.",
        }
    ]
    assert order_state(first, second) == before

    response = client.post(
        BASE + "ship/import/", _csv(f"order_number,carrier,tracking_number\n{second.number},SF,SF3\n")
    )
    assert response.context["summary"].shipped == 2
    assert response.context["summary"].lines[0]["with"] == [first.number]
    assert list(MerchantOrder.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == [
        "shipped",
        "shipped",
    ]
    assert Stock.objects.filter(sku=world.cable).values_list("on_hand", "reserved").get() == (47, 0)


# --- After-sales ------------------------------------------------------------------------------------


def test_the_queue_puts_open_requests_first_with_their_deadline(client, world):
    decided = _refund_request(world)
    services.after_sales_reject(
        request=decided, merchant=decided.merchant_order.merchant, actor=world.shop.owner, note="Used"
    )
    second = ship(pay(place(world.other_buyer, (world.cable, 1))).merchant_orders.get())
    waiting = services.after_sales_request_create(
        order=second, buyer=world.other_buyer, kind="refund", reason="Late", items=[(second.lines.get().pk, 1, "35.50")]
    )
    _login(client, member(world.shop, "orders"))
    response = client.get(BASE + "after-sales/", **EN)
    assert [r.pk for r in response.context["page"].object_list] == [waiting.pk, decided.pk]
    page = response.content.decode()
    assert waiting.respond_by.astimezone().strftime("%Y-%m-%d %H:%M") in page
    assert [r.pk for r in client.get(BASE + "after-sales/?status=rejected").context["page"].object_list] == [decided.pk]


def test_accepting_a_refund_pays_it(client, world):
    request = _refund_request(world)
    _login(client, world.shop.owner)
    response = client.post(f"{BASE}after-sales/{request.pk}/accept/", {"note": "Sorry"}, follow=True, **EN)
    assert [str(m) for m in response.context["messages"]] == ["Accepted: the refund is on its way back to the buyer."]
    request.refresh_from_db()
    assert (request.status, request.merchant_note, request.refund.amount) == ("refunded", "Sorry", Decimal("100.00"))
    world.mine.refresh_from_db()
    assert world.mine.after_sales_open is False


def test_rejecting_needs_a_reason(client, world):
    request = _refund_request(world)
    _login(client, world.shop.owner)
    before = order_state(world.mine)
    response = client.post(f"{BASE}after-sales/{request.pk}/reject/", {"reason": ""}, **EN)
    assert response.status_code == 400
    assert response.context["reject_form"].errors == {"reason": ["This field is required."]}
    assert order_state(world.mine) == before

    response = client.post(
        f"{BASE}after-sales/{request.pk}/reject/", {"reason": "The box was opened"}, follow=True, **EN
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Rejected. The buyer sees your reason and may ask the platform to decide."
    ]
    request.refresh_from_db()
    assert (request.status, request.merchant_note) == ("rejected", "The box was opened")
    # Answering again: the page shows why, nothing changes.
    before = order_state(world.mine)
    response = client.post(f"{BASE}after-sales/{request.pk}/accept/", {}, follow=True, **EN)
    assert [str(m) for m in response.context["messages"]] == [
        "This cannot be done while the request is “Rejected by the merchant”."
    ]
    assert order_state(world.mine) == before


def test_a_return_goes_back_to_stock_when_received(client, world):
    request = _refund_request(world, kind="return_refund")
    back = warehouse(code="WH-RETURNS")
    _login(client, world.shop.owner)
    client.post(f"{BASE}after-sales/{request.pk}/accept/", {})
    request.refresh_from_db()
    assert (request.status, request.refund) == ("awaiting_return", None)
    page = client.get(f"{BASE}after-sales/{request.pk}/", **EN)
    assert [w.code for w in page.context["return_form"].fields["warehouse"].queryset] == ["WH-EAST", "WH-RETURNS"]

    other_wh = warehouse(code="WH-THEIRS", merchant=world.other_shop)
    before = order_state(world.mine)
    response = client.post(f"{BASE}after-sales/{request.pk}/return-received/", {"warehouse": other_wh.pk}, **EN)
    assert response.status_code == 400  # another merchant's warehouse is not a choice
    assert order_state(world.mine) == before

    response = client.post(f"{BASE}after-sales/{request.pk}/return-received/", {"warehouse": back.pk}, **EN)
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.refund.amount) == ("refunded", Decimal("100.00"))
    assert Stock.objects.get(sku=world.lamp, warehouse=back).on_hand == 1


def test_shipping_fee_is_set_in_the_portal_and_used_by_new_orders(client):
    from orders.models import ShippingRate
    from orders.selectors import shipping_fee
    from tests.catalog.factories import live_merchant as _live

    merchant, _cats = _live()
    client.force_login(merchant.owner)
    page = client.get("/portal/orders/shipping-fee/")
    assert page.status_code == 200
    response = client.post("/portal/orders/shipping-fee/", {"flat_fee": "12.50", "free_over": "199.00"})
    assert response.status_code == 302
    rate = ShippingRate.objects.get(merchant=merchant)
    assert (rate.flat_fee, rate.free_over) == (Decimal("12.50"), Decimal("199.00"))
    assert shipping_fee(merchant=merchant, goods_total=Decimal("198.99")) == Decimal("12.50")
    assert shipping_fee(merchant=merchant, goods_total=Decimal("199.00")) == Decimal("0.00")
    bad = client.post("/portal/orders/shipping-fee/", {"flat_fee": "-1", "free_over": ""})
    assert bad.status_code == 400
    rate.refresh_from_db()
    assert rate.flat_fee == Decimal("12.50")
    other, _ = _live()
    client.force_login(other.owner)
    client.post("/portal/orders/shipping-fee/", {"flat_fee": "1.00", "free_over": ""})
    rate.refresh_from_db()
    assert rate.flat_fee == Decimal("12.50")  # each merchant only sets its own
