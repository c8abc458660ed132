"""Builders for flash-sale tests: a stocked SKU of a live shop and a sale of it, live now."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from promotions import flash_redis
from promotions.services import flash
from tests.catalog.factories import live_merchant, product, warehouse

_n = itertools.count(1)


def stocked_sku(*, price="199.99", stock=100, merchant=None, category=None):
    if merchant is None:
        merchant, (category,) = live_merchant()
    item = product(merchant, category, skus=[{"code": f"FS-{next(_n)}-{timezone.now():%H%M%S%f}", "price": price}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        merchant=merchant, sku=sku, warehouse=warehouse(), quantity=stock, actor=merchant.owner
    )
    return sku


def live_sale(
    *,
    sku=None,
    price="199.99",
    special="99.00",
    quantity=10,
    limit=1,
    stock=100,
    starts_in=timedelta(minutes=-30),
    lasts=timedelta(hours=2),
    **terms,
):
    """A sale created an hour ago, by its merchant (operations with `by_staff=True`), that
    started `-starts_in` ago (a positive `starts_in`: starts later)."""
    sku = sku or stocked_sku(price=price, stock=stock)
    created = timezone.now() - timedelta(hours=1)
    starts = timezone.now() + starts_in
    return flash.flash_sale_create(
        merchant=sku.merchant,
        actor=sku.merchant.owner,
        sku=sku,
        special_price=Decimal(special),
        quantity=quantity,
        per_buyer_limit=limit,
        starts_at=starts,
        ends_at=starts + lasts,
        now=min(created, starts - timedelta(minutes=1)),
        **terms,
    )


@pytest.fixture(autouse=True)
def _flash_redis_clean():
    """Sale ids come back between runs of the suite (rolled-back tests): no state may leak."""
    client = flash_redis.client()
    for key in client.scan_iter("flash:*"):
        client.delete(key)
    yield
    for key in client.scan_iter("flash:*"):
        client.delete(key)
