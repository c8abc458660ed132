"""The remembered stock levels of the page cache (catalog.pagecache._stock_check): one Redis
round trip per batch of stock rows, a level that did not change is not written again, a row
never seen is written and counts as changed."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings
from redis.client import Redis

from catalog import pagecache, services
from catalog.models import Stock
from catalog.services import StockLine
from tests.catalog.factories import live_merchant, product, warehouse

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def lamp(commit):
    merchant, (category,) = live_merchant()
    with commit():
        item = product(merchant, category, title="Desk lamp", price="199.00")
        services.stock_receive(merchant=merchant, sku=item.skus.get(), warehouse=warehouse(), quantity=100, actor=None)
    return Stock.objects.get(sku__product=item)


@pytest.fixture
def commands(monkeypatch):
    """The Redis commands sent from here on."""
    sent = []
    real = Redis.execute_command

    def execute_command(self, *args, **options):
        sent.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", execute_command)
    return sent


@pytest.fixture
def bumped(monkeypatch):
    """The generations bumped from here on."""
    names = []
    monkeypatch.setattr(pagecache.pagecache, "bump", lambda given: names.extend(sorted(given)))
    monkeypatch.setattr(pagecache, "products_pages_invalidate", lambda ids: names.extend(f"list+{pk}" for pk in ids))
    return names


def _raw(stock) -> tuple[bytes | None, int]:
    """The remembered level as Redis holds it, and its time to live (-1: none, -2: no key)."""
    key = cache.make_and_validate_key(f"pc:stock:{stock.pk}")
    client = cache._cache.get_client(key)
    return client.get(key), client.ttl(key)


def _reserve(stock, quantity, commit) -> None:
    with commit():
        services.stock_reserve(lines=[StockLine(stock.sku_id, stock.warehouse_id, quantity)], reference="o-1")


def test_the_level_is_remembered_as_an_integer_the_cache_reads(lamp):
    assert cache.get(f"pc:stock:{lamp.pk}") == 6  # "plenty": the threshold + 1
    assert _raw(lamp) == (b"6", -1)  # kept without expiry


def test_an_unchanged_level_writes_nothing_in_one_round_trip(lamp, commit, commands, bumped):
    key = cache.make_and_validate_key(f"pc:stock:{lamp.pk}")
    cache._cache.get_client(key).expire(key, 1000)  # a write would drop it
    commands.clear()
    _reserve(lamp, 3, commit)  # 97 left: still "plenty"
    assert commands == ["EVALSHA"]  # were a MGET and a MULTI/MSET/EXEC
    value, ttl = _raw(lamp)
    assert value == b"6"
    assert 990 <= ttl <= 1000  # not written again
    assert bumped == []


def test_a_changed_level_is_written_and_bumps_the_product_page(lamp, commit, commands, bumped):
    _reserve(lamp, 95, commit)  # 5 left: "only 5 left"
    commands.clear()
    bumped.clear()
    key = cache.make_and_validate_key(f"pc:stock:{lamp.pk}")
    cache._cache.get_client(key).expire(key, 1000)
    _reserve(lamp, 1, commit)  # 4 left
    assert commands.count("EVALSHA") == 1
    assert _raw(lamp) == (b"4", -1)
    assert bumped == [f"product:{lamp.sku.product_id}"]


def test_a_row_never_seen_is_written_and_counts_as_changed(lamp, commands, bumped):
    cache.delete(f"pc:stock:{lamp.pk}")  # forgotten (a flush)
    pagecache._stock_check({lamp.pk: (6, lamp.sku_id)})
    assert _raw(lamp) == (b"6", -1)
    assert bumped == [f"list+{lamp.sku.product_id}"]  # in/out of stock unknown: the lists too


def test_a_batch_writes_only_its_changed_rows_and_answers_each(lamp, commit, bumped):
    other = product(lamp.sku.product.merchant, lamp.sku.product.category, title="Kettle", price="88.00").skus.get()
    cache.set(f"pc:stock:{lamp.pk}", 6, timeout=1000)
    cache.set("pc:stock:999999", 0, timeout=1000)  # a sold-out row of `other`
    pagecache._stock_check({lamp.pk: (6, lamp.sku_id), 999999: (3, other.pk)})
    assert _raw(lamp)[0] == b"6" and _raw(lamp)[1] > 0  # unchanged: not written
    assert cache.get("pc:stock:999999") == 3
    assert bumped == [f"list+{other.product_id}"]  # back in stock: its lists


def test_redis_down_is_no_error_and_bumps_nothing(lamp, bumped):
    dead = {"default": {"BACKEND": "marketplace.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead):
        pagecache._stock_check({lamp.pk: (0, lamp.sku_id)})
    assert bumped == []
    assert _raw(lamp) == (b"6", -1)
