"""Stock writes in a constant number of statements; the checkout's unlocked pre-check; alerts
decided from the locked rows (catalog/services/stock.py)."""

import threading
import time
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.errors import InsufficientStock
from catalog.models import SKU, Stock, StockAlert, StockMovement
from catalog.services import StockLine
from catalog.services import stock as stock_module
from catalog.services.stock import stock_allocate_and_reserve, stock_check_available, stock_set_levels
from tests.catalog.factories import live_merchant, product, warehouse

pytestmark = pytest.mark.django_db


def _stocked(count: int, *, quantity: int = 10, reorder_point: int = 0):
    """`count` SKUs of one merchant, `quantity` units of each in one warehouse."""
    merchant, (cat,) = live_merchant()
    item = product(
        merchant,
        cat,
        skus=[{"code": f"S{n}", "price": "9.90", "reorder_point": reorder_point} for n in range(count)],
    )
    skus = list(item.skus.order_by("pk"))
    wh = warehouse()
    for sku in skus:
        if quantity:
            services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=quantity, actor=None)
    return merchant, skus, wh


def _statements(call) -> list[str]:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        call()
    return [q["sql"] for q in queries.captured_queries]


def _kinds(statements: list[str]) -> list[str]:
    return [" ".join(sql.split()[:2]) if sql.startswith("SET") else sql.split()[0] for sql in statements]


# --- Statements: as many for 5 lines as for 1 ---------------------------------------------


@pytest.mark.parametrize("lines", [1, 2, 5])
def test_allocate_and_reserve_is_four_statements_whatever_the_number_of_lines(lines):
    _merchant, skus, _wh = _stocked(lines)
    statements = _statements(
        lambda: stock_allocate_and_reserve(items=[(s.pk, 2) for s in skus], region="east", reference="order:1")
    )
    # The unlocked pre-check, the lock timeout, the locking SELECT, one statement that UPDATEs
    # the rows and INSERTs the movements (WITH … UPDATE … INSERT); no
    # savepoint (the caller's transaction is the unit), no alert query when no row crossed.
    assert _kinds(statements) == ["SELECT", "SET LOCAL", "SELECT", "WITH"]
    assert "FOR UPDATE OF" in statements[2]
    assert "FOR UPDATE" not in statements[0]
    assert list(Stock.objects.order_by("pk").values_list("on_hand", "reserved")) == [(10, 2)] * lines
    assert StockMovement.objects.filter(kind="reservation", reserved_delta=2, reference="order:1").count() == lines


@pytest.mark.parametrize("lines", [1, 2, 5])
def test_reserve_release_and_ship_are_constant_in_statements(lines):
    _merchant, skus, wh = _stocked(lines)
    batch = [StockLine(s.pk, wh.pk, 3) for s in skus]
    counts = [
        len(_statements(lambda: services.stock_reserve(lines=batch, reference="o"))),
        len(_statements(lambda: services.stock_release(lines=[StockLine(skus[0].pk, wh.pk, 1)], reference="o"))),
        len(_statements(lambda: services.stock_ship(lines=[StockLine(s.pk, wh.pk, 2) for s in skus], reference="o"))),
    ]
    # SAVEPOINT, SET LOCAL, SELECT … FOR UPDATE, WITH … UPDATE … INSERT, RELEASE.
    assert counts == [5, 5, 5]
    assert list(Stock.objects.order_by("pk").values_list("on_hand", "reserved")) == [(8, 0)] + [(8, 1)] * (lines - 1)


def test_the_multi_row_update_writes_each_row_its_own_figures():
    _merchant, skus, wh = _stocked(3, quantity=0)
    for n, sku in enumerate(skus, start=1):
        services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=10 * n, actor=None)
    services.stock_reserve(
        lines=[StockLine(skus[0].pk, wh.pk, 1), StockLine(skus[1].pk, wh.pk, 5), StockLine(skus[2].pk, wh.pk, 30)],
        reference="o",
    )
    assert list(Stock.objects.order_by("pk").values_list("on_hand", "reserved")) == [(10, 1), (20, 5), (30, 30)]
    assert list(
        StockMovement.objects.filter(kind="reservation")
        .order_by("stock_id")
        .values_list("reserved_delta", "on_hand_after", "reserved_after")
    ) == [(1, 10, 1), (5, 20, 5), (30, 30, 30)]


def test_stocks_written_is_called_once_per_batch_with_the_written_rows():
    _merchant, skus, wh = _stocked(3)
    with mock.patch("catalog.services.stock._stocks_written") as hook:
        stock_allocate_and_reserve(items=[(s.pk, 1) for s in skus], region="east", reference="order:1")
        services.stock_release(lines=[StockLine(skus[1].pk, wh.pk, 1)], reference="cancel:1")
    assert hook.call_count == 2
    first, second = (call.args[0] for call in hook.call_args_list)
    assert [(s.sku_id, s.reserved) for s in first] == [(s.pk, 1) for s in skus]
    assert [(s.sku_id, s.reserved) for s in second] == [(skus[1].pk, 0)]


# --- The unlocked pre-check ---------------------------------------------------------------


def test_the_pre_check_refuses_before_taking_any_lock():
    _merchant, (sku,), _wh = _stocked(1, quantity=3)
    before = list(Stock.objects.values_list("on_hand", "reserved"))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, pytest.raises(InsufficientStock) as info:
        stock_allocate_and_reserve(items=[(sku.pk, 4)], region="east", reference="order:1")
    assert info.value.code == "insufficient_stock"
    assert info.value.extra == {"lines": [{"sku": sku.pk, "requested": 4, "available": 3}]}
    assert len(queries.captured_queries) == 1
    assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]
    assert list(Stock.objects.values_list("on_hand", "reserved")) == before
    assert StockMovement.objects.filter(kind="reservation").count() == 0


def test_the_check_alone_reads_once_and_writes_nothing():
    _merchant, skus, _wh = _stocked(2, quantity=3)
    second_wh = warehouse(region="north")
    services.stock_receive(merchant=skus[1].merchant, sku=skus[1], warehouse=second_wh, quantity=2, actor=None)
    # Units of one SKU count over its active warehouses; a line repeated is added up.
    statements = _statements(lambda: stock_check_available(items=[(skus[0].pk, 3), (skus[1].pk, 4), (skus[1].pk, 1)]))
    assert _kinds(statements) == ["SELECT"]
    with pytest.raises(InsufficientStock) as info:
        stock_check_available(items=[(skus[1].pk, 6), (skus[0].pk, 4)])
    assert info.value.extra == {
        "lines": [
            {"sku": skus[0].pk, "requested": 4, "available": 3},
            {"sku": skus[1].pk, "requested": 6, "available": 5},
        ]
    }
    second_wh.is_active = False
    second_wh.save(update_fields=["is_active"])
    with pytest.raises(InsufficientStock) as info:
        stock_check_available(items=[(skus[1].pk, 4)])
    assert info.value.extra == {"lines": [{"sku": skus[1].pk, "requested": 4, "available": 3}]}
    assert list(Stock.objects.order_by("pk").values_list("on_hand", "reserved")) == [(3, 0), (3, 0), (2, 0)]


def test_a_caller_that_checked_first_saves_the_read():
    _merchant, skus, _wh = _stocked(2)
    statements = _statements(
        lambda: stock_allocate_and_reserve(
            items=[(s.pk, 2) for s in skus], region="east", reference="order:1", precheck=False
        )
    )
    assert _kinds(statements) == ["SET LOCAL", "SELECT", "WITH"]
    assert list(Stock.objects.order_by("pk").values_list("reserved", flat=True)) == [2, 2]


def test_a_refusal_under_the_lock_leaves_the_callers_transaction_usable():
    """The pre-check passed on its read, the locked figures say no (another buyer got there in
    between): nothing is written, and the caller's transaction (no savepoint was taken) is
    still usable."""
    _merchant, (sku,), _wh = _stocked(1, quantity=3)
    real_locked = stock_module._locked

    def sold_meanwhile(queryset):
        Stock.objects.filter(sku=sku).update(reserved=3)
        return real_locked(queryset)

    with transaction.atomic():
        with (
            mock.patch.object(stock_module, "_locked", side_effect=sold_meanwhile),
            pytest.raises(InsufficientStock) as info,
        ):
            stock_allocate_and_reserve(items=[(sku.pk, 2)], region="east", reference="order:1")
        assert info.value.extra == {"lines": [{"sku": sku.pk, "requested": 2, "available": 0}]}
        assert Stock.objects.get(sku=sku).reserved == 3  # a query still runs: the transaction is usable
    assert StockMovement.objects.filter(kind="reservation").count() == 0


def _hold_lock(sku, locked: threading.Event, release: threading.Event) -> None:
    """Another connection (this thread's own) locks the stock rows of `sku` until `release`."""
    try:
        with transaction.atomic():
            list(Stock.objects.select_for_update().filter(sku=sku))
            locked.set()
            release.wait(timeout=30)
    finally:
        connection.close()


def _wait_for_a_lock_waiter() -> None:
    """Until another backend of this database waits on a lock (or 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no backend waited on a lock")


@pytest.mark.django_db(transaction=True)
def test_the_pre_check_refuses_without_waiting_for_a_lock_held_by_another_connection(settings):
    # The lock is held longer than the lock timeout: a checkout that queued on it would end with
    # 409 `stock_busy` after 10 s, not with `insufficient_stock` at once.
    settings.STOCK_LOCK_TIMEOUT_MS = 10_000
    _merchant, (sku,), wh = _stocked(1, quantity=2)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 2)], reference="sold")
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(sku, locked, release))
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        with pytest.raises(InsufficientStock) as info:
            stock_allocate_and_reserve(items=[(sku.pk, 1)], region="east", reference="order:late")
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=30)
    assert info.value.extra == {"lines": [{"sku": sku.pk, "requested": 1, "available": 0}]}
    assert waited < 10
    assert list(Stock.objects.values_list("on_hand", "reserved")) == [(2, 2)]
    assert StockMovement.objects.filter(reference="order:late").count() == 0


# --- Alerts: decided from the locked rows, written only when needed -----------------------


def test_a_row_crossing_its_reorder_point_opens_its_alert_in_one_more_statement():
    merchant, skus, wh = _stocked(2, quantity=8, reorder_point=5)
    statements = _statements(
        lambda: stock_allocate_and_reserve(items=[(s.pk, 4) for s in skus], region="east", reference="order:1")
    )
    # Then the catalog members are told (issue #16), only now: the SKUs, the members, one INSERT.
    assert _kinds(statements) == ["SELECT", "SET LOCAL", "SELECT", "WITH", "INSERT", "SELECT", "SELECT", "INSERT"]
    assert "catalog_stockalert" in statements[4]
    assert "notifications_notification" in statements[-1]
    assert sorted(
        StockAlert.objects.values_list("stock__sku_id", "available_at_open", "reorder_point", "merchant_id")
    ) == [
        (skus[0].pk, 4, 5, merchant.pk),
        (skus[1].pk, 4, 5, merchant.pk),
    ]
    # Still below with the alert open: nothing more to write, not even a query of the alerts.
    statements = _statements(
        lambda: stock_allocate_and_reserve(items=[(skus[0].pk, 1)], region="east", reference="order:2")
    )
    assert _kinds(statements) == ["SELECT", "SET LOCAL", "SELECT", "WITH"]
    assert StockAlert.objects.filter(closed_at__isnull=True).count() == 2
    # Back above: the alert is closed in one UPDATE.
    statements = _statements(
        lambda: services.stock_release(lines=[StockLine(skus[1].pk, wh.pk, 4)], reference="cancel:1")
    )
    assert _kinds(statements) == ["SAVEPOINT", "SET LOCAL", "SELECT", "WITH", "UPDATE", "RELEASE"]
    assert list(StockAlert.objects.filter(closed_at__isnull=True).values_list("stock__sku_id", flat=True)) == [
        skus[0].pk
    ]
    assert StockAlert.objects.count() == 2


def test_a_changed_reorder_point_is_caught_up_by_the_next_write():
    """A reorder point changed on the SKU opens or closes no alert by itself; the next write of
    the stock does, as before, though no row crossed the point in that write."""
    merchant, (sku,), wh = _stocked(1, quantity=10)
    SKU.objects.filter(pk=sku.pk).update(reorder_point=20)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 1)], reference="o1")  # 10 → 9, below 20 both times
    alert = StockAlert.objects.get()
    assert (alert.available_at_open, alert.reorder_point, alert.merchant_id, alert.closed_at) == (
        9,
        20,
        merchant.pk,
        None,
    )
    SKU.objects.filter(pk=sku.pk).update(reorder_point=3)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 1)], reference="o2")  # 9 → 8, above 3 both times
    alert.refresh_from_db()
    assert alert.closed_at is not None
    assert StockAlert.objects.count() == 1


def test_an_import_opens_every_crossed_alert_in_one_statement():
    merchant, skus, wh = _stocked(3, quantity=10, reorder_point=5)
    levels = [(skus[0], wh, 2), (skus[1], wh, 3), (skus[2], wh, 9)]
    statements = _statements(lambda: stock_set_levels(merchant=merchant, levels=levels, actor=None, reason="Count"))
    assert sum("catalog_stockalert" in sql and sql.startswith("INSERT") for sql in statements) == 1
    assert sorted(StockAlert.objects.values_list("stock__sku_id", "available_at_open")) == [
        (skus[0].pk, 2),
        (skus[1].pk, 3),
    ]
    assert list(
        StockMovement.objects.filter(kind="adjustment")
        .order_by("stock_id")
        .values_list("on_hand_delta", "on_hand_after")
    ) == [(-8, 2), (-7, 3), (-1, 9)]


@pytest.mark.django_db(transaction=True)
def test_a_writer_that_waited_for_the_lock_closes_the_alert_its_predecessor_opened(settings):
    """The locking SELECT re-reads the stock row once the lock is granted, but sees the alerts
    as they were when it started: the crossing, seen on the fresh row, still closes the alert
    opened meanwhile by the transaction that held the lock."""
    settings.STOCK_LOCK_TIMEOUT_MS = 10_000
    merchant, (sku,), wh = _stocked(1, quantity=8, reorder_point=5)
    reserved, commit = threading.Event(), threading.Event()

    def reserve_and_hold():
        try:
            with transaction.atomic():
                services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 4)], reference="o1")  # 8 → 4: opens
                reserved.set()
                commit.wait(timeout=30)
        finally:
            connection.close()

    def receive():
        try:
            services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=10, actor=None)  # 4 → 14
        finally:
            connection.close()

    first = threading.Thread(target=reserve_and_hold)
    first.start()
    assert reserved.wait(timeout=10)
    second = threading.Thread(target=receive)
    second.start()
    try:
        _wait_for_a_lock_waiter()
    finally:
        commit.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert list(Stock.objects.values_list("on_hand", "reserved")) == [(18, 4)]
    alert = StockAlert.objects.get()
    assert alert.available_at_open == 4
    assert alert.closed_at is not None


def test_the_rows_and_their_movements_are_written_by_one_statement_with_exact_figures():
    """The UPDATE of the locked rows and the INSERT of their movements share one statement:
    every row gets its figures and exactly one movement with the levels after the change."""
    merchant, skus, wh = _stocked(3, quantity=10)
    actor = merchant.owner
    before = StockMovement.objects.count()
    statements = _statements(
        lambda: services.stock_reserve(
            lines=[StockLine(s.pk, wh.pk, n) for s, n in zip(skus, (1, 2, 3), strict=True)],
            reference="order:exact",
            actor=actor,
        )
    )
    assert [sql.split()[0] for sql in statements].count("WITH") == 1
    assert list(Stock.objects.filter(sku__in=skus).order_by("sku_id").values_list("on_hand", "reserved")) == [
        (10, 1),
        (10, 2),
        (10, 3),
    ]
    assert StockMovement.objects.count() == before + 3
    assert list(
        StockMovement.objects.filter(reference="order:exact")
        .order_by("stock__sku_id")
        .values_list(
            "stock__sku_id",
            "kind",
            "on_hand_delta",
            "reserved_delta",
            "on_hand_after",
            "reserved_after",
            "reason",
            "actor_id",
        )
    ) == [
        (skus[0].pk, "reservation", 0, 1, 10, 1, "", actor.pk),
        (skus[1].pk, "reservation", 0, 2, 10, 2, "", actor.pk),
        (skus[2].pk, "reservation", 0, 3, 10, 3, "", actor.pk),
    ]
    assert not StockMovement.objects.filter(reference="order:exact", created_at__isnull=True).exists()
