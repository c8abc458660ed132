"""Flash sales: the Redis state rebuilt when a worker starts and by the beat, only where it is
missing or stale, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import worker_ready
from django.conf import settings as django_settings
from django.test import TestCase
from django.utils import timezone

from promotions import flash_redis
from promotions.models import FlashSale
from promotions.services import flash
from promotions.tasks import flash_sales_rebuild_task
from tests.factories import UserFactory
from tests.promotions.flash_factories import _flash_redis_clean, live_sale  # noqa: F401

pytestmark = pytest.mark.django_db


def _ms(moment) -> str:
    return str(int(moment.timestamp() * 1000))


def _figures(sale_id: int) -> tuple:
    state = flash_redis.snapshot(sale_id)
    return tuple(state.get(name) for name in ("remaining", "start", "end", "limit", "paused", "buyers"))


def _world():
    """Two sales with holds, one upcoming, one ended: Redis as the admissions left it."""
    live = live_sale(quantity=10, limit=3)
    buyers = [UserFactory(), UserFactory()]
    flash.flash_sale_admit(sale_id=live.pk, buyer_id=buyers[0].pk, units=3)
    flash.flash_sale_admit(sale_id=live.pk, buyer_id=buyers[1].pk, units=1)
    upcoming = live_sale(quantity=4, starts_in=timedelta(hours=1))
    ended = live_sale(quantity=2, starts_in=timedelta(hours=-3), lasts=timedelta(hours=1))
    return live, upcoming, ended, buyers


def test_the_task_is_in_the_beat_schedule():
    tasks = {entry["task"]: entry["schedule"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["promotions.tasks.flash_sales_rebuild_task"] == timedelta(minutes=1)


def test_after_a_flush_a_worker_start_rebuilds_exactly_the_database_figures_and_a_second_run_nothing():
    live, upcoming, ended, buyers = _world()
    flash_redis.client().flushdb()
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        worker_ready.send(sender=None)
    assert len(callbacks) == 1  # the task, enqueued by name, run (eager)
    assert _figures(live.pk) == (
        "6",
        _ms(live.starts_at),
        _ms(live.ends_at),
        "3",
        "0",
        {buyers[0].pk: 3, buyers[1].pk: 1},
    )
    assert _figures(upcoming.pk) == ("4", _ms(upcoming.starts_at), _ms(upcoming.ends_at), "1", "0", {})
    assert flash_redis.snapshot(ended.pk) == {}  # an ended sale is not rebuilt
    gens = {sale.pk: flash_redis.snapshot(sale.pk)["gen"] for sale in (live, upcoming)}
    assert flash_sales_rebuild_task() == 0
    assert {sale.pk: flash_redis.snapshot(sale.pk)["gen"] for sale in (live, upcoming)} == gens


def test_the_beat_run_rebuilds_only_the_stale_states():
    live, upcoming, _ended, buyers = _world()
    assert flash_sales_rebuild_task() == 1  # the upcoming sale's state did not exist yet
    gens = {sale.pk: flash_redis.snapshot(sale.pk)["gen"] for sale in (live, upcoming)}
    # Redis lost a give-back (it under-sells) and the upcoming sale was paused behind its back.
    flash_redis.client().hset(flash_redis.keys(live.pk)[0], "remaining", 2)
    FlashSale.objects.filter(pk=upcoming.pk).update(is_paused=True)
    assert flash_sales_rebuild_task() == 2
    assert _figures(live.pk)[0] == "6"
    assert _figures(upcoming.pk)[4] == "1"
    assert all(flash_redis.snapshot(sale.pk)["gen"] != gens[sale.pk] for sale in (live, upcoming))
    # A buyer's units wrong in Redis only: stale too.
    flash_redis.client().hset(flash_redis.keys(live.pk)[1], buyers[1].pk, 3)
    assert flash.flash_sales_rebuild_all() == 1
    assert _figures(live.pk)[5] == {buyers[0].pk: 3, buyers[1].pk: 1}
    assert flash.flash_sales_rebuild_all(now=timezone.now()) == 0


def test_units_given_back_after_a_rebuild_count_in_the_rebuilt_state():
    from orders import services as order_services
    from orders.services import CheckoutItem
    from tests.orders.factories import address_for

    sale = live_sale(quantity=3, limit=1)
    bought, holder = UserFactory(), UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=bought.pk)
    order = order_services.checkout_place(
        buyer=bought, address=address_for(bought), items=[CheckoutItem(sale.sku_id, 1)]
    )
    held = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=holder.pk)
    flash_redis.client().flushdb()
    assert flash_sales_rebuild_task() == 1
    gen = flash_redis.snapshot(sale.pk)["gen"]
    held.refresh_from_db()
    assert held.redis_gen == gen  # the reservations counted take the new generation
    assert _figures(sale.pk)[0] == "1"
    # The hold expires and the order is cancelled: both units come back to the rebuilt state.
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert flash.flash_reservations_expire(now=held.expires_at) == 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_services.buyer_order_cancel_unpaid(buyer_order=order, actor=bought)
    assert _figures(sale.pk)[0] == "3" and _figures(sale.pk)[5] == {}
    assert flash_sales_rebuild_task() == 0  # and the state is current
