"""The checkout's query budget (issue #12): the statements of a 2-shop order, the 201 answer
built from memory and equal to the order's page, one lookup per kind of row."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.db.models import OuterRef
from django.test.utils import CaptureQueriesContext

from catalog.errors import InsufficientStock
from catalog.models import SKU, Stock
from merchants.choices import ContractStatus
from merchants.models import Contract, Merchant
from merchants.selectors import current_contract, current_contract_value
from orders import selectors, services
from orders.api.serializers import BuyerOrderDetailSerializer
from orders.errors import IdempotencyMismatch, OrderError
from orders.models import (
    BuyerOrder,
    CartItem,
    CheckoutAttempt,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Shipment,
    ShipmentLine,
)
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_api import BASE, client_for
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_portal_orders import World, build_world

pytestmark = pytest.mark.django_db

# The order's own statements on the order tables (the stock's, the audit's and the cart's are
# counted by their own tests); the SKUs are read once (`_sku_reads`).
CHECKOUT_OWN = {
    # the buyer order, its merchant orders, their lines and events: one statement (a
    # data-modifying WITH whose first INSERT is the buyer order's)
    ("WITH", "orders_buyerorder"): 1,
    # the shipments and their lines: one statement (a data-modifying WITH)
    ("WITH", "orders_shipment"): 1,
}


@pytest.fixture
def world() -> World:
    return build_world()


def _kind(sql: str) -> tuple[str, str]:
    """(verb, first table) of a statement, e.g. ("INSERT", "orders_orderline")."""
    verb = sql.split(None, 1)[0].upper()
    # A SELECT's table is its first column's (a subquery in its columns has a FROM of its own).
    table = re.match(r'SELECT (?:DISTINCT )?"(\w+)"\.', sql) or re.search(
        r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE
    )
    return verb, table.group(1) if table else ""


def _own(queries) -> Counter:
    return Counter(
        kind
        for kind in map(_kind, (q["sql"] for q in queries))
        if kind[1].startswith("orders_") or kind[1] == "merchants_contract"
    )


def _sku_reads(queries) -> list[str]:
    """The statements reading SKUs with their products: one, with the shipping rate joined and
    the current contract's revenue-share rate in it, and no statement of its own for either."""
    assert not [q for q in queries if _kind(q["sql"])[1] in ("merchants_contract", "orders_shippingrate")]
    return [
        "orders_shippingrate" in q["sql"] and "merchants_contract" in q["sql"]
        for q in queries
        if _kind(q["sql"]) == ("SELECT", "catalog_sku") and "catalog_product" in q["sql"]
    ]


def test_a_two_shop_order_is_placed_in_a_fixed_number_of_statements_and_answered_without_one(world):
    buyer = world.other_buyer
    address = buyer.addresses.get()
    with CaptureQueriesContext(connection) as placing:
        order = services.checkout_place(
            buyer=buyer, address=address, items=[CheckoutItem(world.lamp.pk, 2), CheckoutItem(world.mug.pk, 1)]
        )
    # The lock with the number, the key's attempt, the SKUs (with their available units: the
    # stock pre-check), the order's rows (1: the 4 inserts in one statement), the stock (SET LOCAL lock_timeout: none on a web
    # connection that bounds lock waits itself, the locking read, one statement that UPDATEs the
    # rows and INSERTs the movements), the shipments with their lines (1), the audit (1) and the
    # attempt: 10, whatever the
    # number of shops and lines.
    assert len(placing) == 10
    assert _own(placing.captured_queries) == Counter(CHECKOUT_OWN)
    assert _sku_reads(placing.captured_queries) == [True]
    # The stock is locked and reserved before the order's rows are written: a buyer who finds
    # the units gone under the lock has written nothing (a refusal costs no inserts).
    kinds = [_kind(q["sql"]) for q in placing.captured_queries]
    assert kinds.index(("SELECT", "catalog_stock")) < kinds.index(("WITH", "orders_buyerorder"))
    assert kinds.index(("WITH", "orders_buyerorder")) < kinds.index(("WITH", "orders_shipment"))

    with CaptureQueriesContext(connection) as answering:
        body = BuyerOrderDetailSerializer(order).data
    assert len(answering) == 0
    assert body == BuyerOrderDetailSerializer(selectors.buyer_order_get(buyer, order.number)).data
    assert (body["payable_total"], [(p["number"], p["paid_total"]) for p in body["merchant_orders"]]) == (
        "427.98",
        [(f"{order.number}-1", "399.98"), (f"{order.number}-2", "28.00")],
    )


def test_the_orders_rows_written_in_one_statement_are_linked_as_the_database_has_them(world):
    """The buyer order, merchant orders, lines and events of one statement: each row in memory
    has the id and parent the database gave it (3 lines, 2 of them in one shop)."""
    buyer = world.other_buyer
    items = [CheckoutItem(world.lamp.pk, 2), CheckoutItem(world.cable.pk, 3), CheckoutItem(world.mug.pk, 1)]
    order = services.checkout_place(buyer=buyer, address=buyer.addresses.get(), items=items)
    in_memory = {
        (merchant_order.pk, merchant_order.number, line.pk, line.sku_id, line.quantity, line.merchant_order_id)
        for merchant_order in order.merchant_orders.all()
        for line in merchant_order.lines.all()
    }
    stored = set(
        OrderLine.objects.filter(merchant_order__buyer_order_id=order.pk).values_list(
            "merchant_order_id", "merchant_order__number", "pk", "sku_id", "quantity", "merchant_order_id"
        )
    )
    assert in_memory == stored
    assert {(line[3], line[4]) for line in stored} == {(world.lamp.pk, 2), (world.cable.pk, 3), (world.mug.pk, 1)}
    assert set(MerchantOrder.objects.filter(buyer_order=order).values_list("pk", "merchant_id")) == {
        (merchant_order.pk, merchant_order.merchant_id) for merchant_order in order.merchant_orders.all()
    }
    assert set(OrderEvent.objects.filter(merchant_order__buyer_order=order).values_list("pk", "merchant_order_id")) == {
        (event.pk, merchant_order.pk)
        for merchant_order in order.merchant_orders.all()
        for event in merchant_order.events.all()
    }
    assert BuyerOrder.objects.get(pk=order.pk).number == order.number
    assert (
        BuyerOrderDetailSerializer(order).data
        == BuyerOrderDetailSerializer(selectors.buyer_order_get(buyer, order.number)).data
    )


def test_the_api_post_answers_a_new_order_from_memory_and_its_body_is_the_orders_page(world):
    client = client_for(world.other_buyer)
    address = world.other_buyer.addresses.get()
    body = {
        "address": address.pk,
        "items": [{"sku": world.lamp.pk, "quantity": 1}, {"sku": world.mug.pk, "quantity": 1}],
    }
    for item in body["items"]:  # as in the benchmark: the ordered SKUs are in the cart
        assert client.post(BASE + "cart/items/", item, format="json").status_code == 201
    with CaptureQueriesContext(connection) as posting:
        created = client.post(BASE + "checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="key-queries-1")
    assert created.status_code == 201
    # The address with the key's lock and the order number (1), the SKUs with whether the key
    # was used (1), the stock (SET LOCAL lock_timeout, the locking read, the write: 3), the
    # order's rows with the key's attempt and the ordered lines out of the cart (1), the
    # shipments (1), the audit (1) and, in this test's transaction, SAVEPOINT/RELEASE where a
    # request has BEGIN/COMMIT: 10. The token read makes 11 through the API with a token; a
    # web connection whose lock waits are bounded (DB_LOCK_TIMEOUT_MS, gunicorn.conf.py)
    # skips SET LOCAL lock_timeout: 10 in production, 8 without BEGIN/COMMIT.
    assert len(posting) == 10
    assert _own(posting.captured_queries) == Counter({**CHECKOUT_OWN, ("SELECT", "orders_address"): 1})
    sqls = [q["sql"] for q in posting.captured_queries]
    (locking,) = [sql for sql in sqls if "pg_try_advisory_xact_lock" in sql]
    assert _kind(locking) == ("SELECT", "orders_address")
    assert "nextval('orders_buyer_order_number_seq')" in locking
    (sku_read,) = [sql for sql in sqls if _kind(sql) == ("SELECT", "catalog_sku")]
    assert '"orders_checkoutattempt"' in sku_read
    (orders,) = [sql for sql in sqls if _kind(sql) == ("WITH", "orders_buyerorder")]
    assert 'INSERT INTO "orders_checkoutattempt"' in orders
    assert 'DELETE FROM "orders_cartitem"' in orders
    assert (
        CheckoutAttempt.objects.get(buyer=world.other_buyer, key="key-queries-1").buyer_order.number
        == (created.json()["number"])
    )
    assert not CartItem.objects.filter(cart__buyer=world.other_buyer).exists()

    number = created.json()["number"]
    assert created.json() == client.get(f"{BASE}orders/{number}/").json()
    replay = client.post(BASE + "checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="key-queries-1")
    assert (replay.status_code, replay.json()) == (200, created.json())
    assert BuyerOrder.objects.filter(buyer=world.other_buyer).count() == 1


def test_the_idempotent_placement_opens_no_savepoint_of_its_own(world):
    """cart_checkout → checkout_place_idempotent → the placement → the stock → the audit: one
    SAVEPOINT (the cart's, nested in the test's transaction), not five."""
    buyer = world.other_buyer
    address = buyer.addresses.get()
    with CaptureQueriesContext(connection) as placing:
        services.cart_checkout(
            buyer=buyer,
            key="key-savepoints",
            fingerprint="f" * 64,
            address=address,
            items=[CheckoutItem(world.mug.pk, 1)],
        )
    savepoints = [q["sql"] for q in placing.captured_queries if q["sql"].startswith("SAVEPOINT")]
    kinds = [_kind(q["sql"]) for q in placing.captured_queries]
    # The first SAVEPOINT is cart_checkout's; the next statement is the lock, not another one.
    assert placing.captured_queries[0]["sql"].startswith("SAVEPOINT")
    assert "pg_try_advisory_xact_lock" in placing.captured_queries[1]["sql"]
    assert kinds[2] == ("SELECT", "catalog_sku")  # with the key's attempt: no SAVEPOINT before it
    assert len(savepoints) == 1


def test_a_refusal_of_the_idempotent_placement_leaves_the_callers_transaction_usable(world):
    """Its refusals leave its (savepoint-less) block before they are raised: the caller can
    still read, and nothing was written."""
    buyer = world.other_buyer
    address = buyer.addresses.get()
    items = [CheckoutItem(world.mug.pk, 1)]
    services.checkout_place_idempotent(
        buyer=buyer, key="key-refusals", fingerprint="a" * 64, address=address, items=items
    )
    before = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    with pytest.raises(IdempotencyMismatch):
        services.checkout_place_idempotent(
            buyer=buyer, key="key-refusals", fingerprint="b" * 64, address=address, items=items
        )
    after = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    assert after == before == (2, 1, 2)


def test_a_replay_is_found_through_the_skus_read_even_when_a_sku_left_sale_meanwhile(world):
    """The key's attempt is read only when the SKU read says the key was used: a replay gets
    the first order back although its SKU is no longer on sale, in 3 statements (the address
    with the lock, the SKUs with the flag, the attempt), writing nothing."""
    buyer = world.other_buyer
    address = buyer.addresses.get()
    items = [CheckoutItem(world.mug.pk, 1)]
    first, created = services.cart_checkout(
        buyer=buyer, key="key-replayed", fingerprint="c" * 64, address_id=address.pk, items=items
    )
    assert created
    SKU.objects.filter(pk=world.mug.pk).update(is_active=False)
    before = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    with CaptureQueriesContext(connection) as replaying:
        again, created = services.checkout_place_idempotent(
            buyer=buyer, key="key-replayed", fingerprint="c" * 64, address_id=address.pk, items=items
        )
    assert (again.pk, created) == (first.pk, False)
    assert [_kind(q["sql"]) for q in replaying.captured_queries] == [
        ("SELECT", "orders_address"),
        ("SELECT", "catalog_sku"),
        ("SELECT", "orders_checkoutattempt"),
    ]
    after = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    assert after == before


def test_another_buyers_address_or_none_refuses_before_the_lock_and_writes_nothing(world):
    """The address is read with the key's lock: not one of the buyer's, neither the lock nor
    a number is taken (the key stays free), and nothing is written."""
    buyer = world.other_buyer
    foreign = world.buyer.addresses.first() or address_for(world.buyer)
    before = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    for address_id in (foreign.pk, 987654321):
        with pytest.raises(OrderError) as refused:
            services.cart_checkout(
                buyer=buyer,
                key="key-foreign-address",
                fingerprint="d" * 64,
                address_id=address_id,
                items=[CheckoutItem(world.mug.pk, 1)],
            )
        assert refused.value.code == "invalid_address"
    after = (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), Stock.objects.get(sku=world.mug).reserved)
    assert after == before
    with connection.cursor() as cursor:  # the key's lock was not taken by this transaction
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone() == (0,)


def test_skus_that_do_not_exist_are_refused_as_unavailable_with_a_free_key(world):
    buyer = world.other_buyer
    with pytest.raises(OrderError) as refused:
        services.cart_checkout(
            buyer=buyer,
            key="key-no-such-sku",
            fingerprint="e" * 64,
            address_id=buyer.addresses.get().pk,
            items=[CheckoutItem(987654321, 1)],
        )
    assert (refused.value.code, refused.value.extra) == ("sku_unavailable", {"skus": [987654321]})
    assert not CheckoutAttempt.objects.filter(key="key-no-such-sku").exists()


def test_a_short_item_under_the_lock_refuses_before_any_insert_and_leaves_nothing(world):
    """A buyer who passes the plain read (another took the units meanwhile) and finds the
    item short under the lock is refused before writing anything: no insert is sent."""
    buyer = world.other_buyer
    counts = (
        BuyerOrder.objects.count(),
        MerchantOrder.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        Shipment.objects.count(),
        ShipmentLine.objects.count(),
    )
    available = Stock.objects.get(sku=world.mug).on_hand - Stock.objects.get(sku=world.mug).reserved
    address = buyer.addresses.get()
    # The plain read passed as in a race (its units were still there when it was made).
    with (
        mock.patch("orders.services.checkout.stock_refuse_short"),
        CaptureQueriesContext(connection) as refusing,
        pytest.raises(InsufficientStock) as refused,
    ):
        services.checkout_place(
            buyer=buyer,
            address=address,
            items=[CheckoutItem(world.lamp.pk, 1), CheckoutItem(world.mug.pk, available + 1)],
        )
    assert refused.value.extra == {"lines": [{"sku": world.mug.pk, "requested": available + 1, "available": available}]}
    assert [q["sql"] for q in refusing.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "WITH"))] == []
    # The locked read is the last statement before the rollback (the test's savepoint here).
    assert "FOR UPDATE" in refusing.captured_queries[-3]["sql"]
    assert refusing.captured_queries[-2]["sql"].startswith("ROLLBACK")
    assert (
        BuyerOrder.objects.count(),
        MerchantOrder.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        Shipment.objects.count(),
        ShipmentLine.objects.count(),
    ) == counts
    assert list(Stock.objects.order_by("sku__code").values_list("sku__code", "reserved")) == [
        ("CABLE", 0),
        ("LAMP", 2),
        ("MUG", 1),
    ]


def test_current_contract_value_is_a_field_of_current_contract_for_each_row(world):
    superseded = Contract.objects.filter(merchant=world.shop).get()
    newer = Contract.objects.get(pk=superseded.pk)
    newer.pk, newer.number, newer.status = None, "MC-TEST-NEWER", ContractStatus.OFFERED
    Contract.objects.filter(pk=superseded.pk).update(status=ContractStatus.SUPERSEDED)
    newer.save()  # offered now, after the first
    Contract.objects.filter(merchant=world.other_shop).delete()
    with CaptureQueriesContext(connection) as reading:
        numbers = dict(
            Merchant.objects.filter(pk__in=[world.shop.pk, world.other_shop.pk])
            .annotate(contract_number=current_contract_value(OuterRef("pk"), "number"))
            .values_list("pk", "contract_number")
        )
    assert len(reading) == 1
    assert numbers == {world.shop.pk: "MC-TEST-NEWER", world.other_shop.pk: None}
    assert (current_contract(world.shop), current_contract(world.other_shop)) == (newer, None)


def test_the_shipping_fee_reads_the_rate_joined_to_the_merchant_and_a_new_rate_replaces_it(world):
    merchant = Merchant.objects.select_related("shipping_rate").get(pk=world.shop.pk)
    with CaptureQueriesContext(connection) as reading:
        fee = selectors.shipping_fee(merchant=merchant, goods_total=Decimal("10.00"))
    assert (fee, len(reading)) == (Decimal("8.00"), 0)  # no rate: the platform's default, from the join
    services.shipping_rate_set(merchant=merchant, flat_fee="12.00", free_over=None, actor=merchant.owner)
    assert selectors.shipping_fee(merchant=merchant, goods_total=Decimal("10.00")) == Decimal("12.00")
    services.shipping_rate_set(merchant=merchant, flat_fee="5.00", free_over="9.00", actor=merchant.owner)
    assert selectors.shipping_fee(merchant=merchant, goods_total=Decimal("10.00")) == Decimal("0.00")


def test_a_joint_operation_line_is_priced_at_the_current_contracts_revenue_share_rate_read_with_the_skus():
    merchant, (category,) = live_merchant(cooperation_mode="joint_operation")  # revenue share 0.12
    sku, _wh = _stocked_sku(price="100.00", merchant=merchant, category=category)
    buyer = UserFactory()
    order = services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 1)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # Within the launch policy (live since now): 0.12 × 0.5.
    assert (line.category_rate, line.commission_rate, line.commission) == (
        Decimal("0.1200"),
        Decimal("0.060000"),
        Decimal("6.00"),
    )


def test_a_sold_out_sku_is_refused_with_the_skus_read_before_anything_is_written_or_locked(world):
    """The stock pre-check rides on the SKUs' read: a sold-out SKU is refused with the same
    `insufficient_stock` extra as the locked check, before any insert and without taking (or
    queueing on) a stock row's lock."""
    Stock.objects.filter(sku=world.mug).update(reserved=0, on_hand=0)
    buyer = world.other_buyer
    orders_before = BuyerOrder.objects.count()
    with CaptureQueriesContext(connection) as placing, pytest.raises(InsufficientStock) as refused:
        services.checkout_place(
            buyer=buyer,
            address=buyer.addresses.get(),
            items=[CheckoutItem(world.lamp.pk, 1), CheckoutItem(world.mug.pk, 2)],
        )
    assert refused.value.extra == {"lines": [{"sku": world.mug.pk, "requested": 2, "available": 0}]}
    statements = [q["sql"] for q in placing.captured_queries]
    assert not [sql for sql in statements if sql.startswith("INSERT") or "FOR UPDATE" in sql]
    assert BuyerOrder.objects.count() == orders_before


def test_with_a_limited_promotion_the_order_costs_five_statements_more(world):
    """The same 2-shop order as above (10 statements without promotions: the cached index of
    live promotions says neither shop has one, so their query is skipped) with a shop
    promotion that has a use limit, a money budget and a per-buyer limit: + the offers (1),
    the line discount rows (1), the promotion's conditional UPDATE (1), the buyer's counter
    upsert (1) and the redemption row (1) = 15. An unlimited promotion costs the first two
    only (12): it takes no row lock and writes no counter."""
    from tests.promotions.factories import promotion

    limited = promotion(merchant=world.shop, amount="10.00", max_uses=10, budget_amount="50.00", per_buyer_limit=1)
    buyer = world.other_buyer
    address = buyer.addresses.get()
    items = [CheckoutItem(world.lamp.pk, 2), CheckoutItem(world.mug.pk, 1)]
    warm = UserFactory()
    services.checkout_place(buyer=warm, address=address_for(warm), items=items[1:])  # the index, rebuilt
    with CaptureQueriesContext(connection) as placing:
        order = services.checkout_place(buyer=buyer, address=address, items=items)
    assert len(placing) == 15
    assert order.merchant_orders.get(merchant=world.shop).discount_total == Decimal("10.00")
    limited.refresh_from_db()
    assert (limited.uses_count, limited.budget_spent) == (1, Decimal("10.00"))

    from promotions.services import promotion_end

    promotion_end(promotion=limited, actor=world.shop.owner)
    promotion(merchant=world.shop, amount="10.00")
    services.checkout_place(buyer=warm, address=warm.addresses.get(), items=items[1:])
    with CaptureQueriesContext(connection) as unlimited:
        services.checkout_place(buyer=buyer, address=address, items=items)
    assert len(unlimited) == 12
