"""Cached pages stay truthful without waiting for the TTL: a checkout that spends the last of a
promotion's budget or uses makes its pages stale after the commit (a cancellation giving
one back, too), and a merchant's credit grade moving into or out of A or D makes the pages
that rank or exclude its products stale (`merchants.signals.credit_grade_changed`)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from catalog.errors import InsufficientStock
from catalog.pagecache import LIST, product_generation
from marketplace.models import AuditLogEntry
from merchants import services as merchant_services
from merchants.errors import MerchantError
from merchants.models import Merchant
from promotions.pagecache import LIVE_LIST, promotion_generation
from promotions.services import promotion_usage_release
from tests.factories import UserFactory
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_checkout_promotions import _place, _shop
from tests.promotions.factories import promotion

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks of what the block does, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _seed(*names) -> None:
    cache.set_many({f"pc:gen:{name}": "before" for name in names}, timeout=None)


def _stale(*names) -> set[str]:
    """Which of these generations were bumped since `_seed`."""
    return {name for name in names if cache.get(f"pc:gen:{name}") != "before"}


# --- A promotion running out at checkout ----------------------------------------------------


@pytest.mark.parametrize("limit", [{"max_uses": 2}, {"budget_amount": "20.00"}], ids=["uses", "budget"])
def test_the_checkout_that_spends_the_last_use_or_budget_makes_the_promotions_pages_stale(commit, limit):
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="10.00", **limit)
    # (Its products' pages and `LIST` are bumped with them; the stock's own bumps blur those.)
    names = (promotion_generation(made.pk), LIVE_LIST)
    _seed(*names)

    with commit():
        first = _place(UserFactory(), (sku, 1))
    # One use (or ¥10) left: it still shows, nothing is stale.
    assert _stale(*names) == set()

    with commit():
        last = _place(UserFactory(), (sku, 1))
    assert _stale(*names) == set(names)

    # The unpaid order cancelled gives the use back: it shows again.
    _seed(*names)
    with commit():
        assert promotion_usage_release(order_id=last.pk) == 1
    assert _stale(*names) == set(names)

    # Given back to a promotion that had not run out: nothing to refresh.
    _seed(*names)
    with commit():
        assert promotion_usage_release(order_id=first.pk) == 1
    assert _stale(*names) == set()


def test_a_refused_checkout_makes_nothing_stale(commit):
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category, quantity=1)
    made = promotion(merchant=merchant, amount="10.00", max_uses=1)
    names = (promotion_generation(made.pk), LIVE_LIST)
    _seed(*names)
    with commit(), pytest.raises(InsufficientStock):
        _place(UserFactory(), (sku, 2))  # more than the stock: refused before any use
    made.refresh_from_db()
    assert (made.uses_count, _stale(*names)) == (0, set())


def test_the_promotion_page_served_from_the_cache_is_gone_once_the_last_use_is_spent(commit):
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="10.00", max_uses=1, name="Last one")
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    with commit():
        pass
    assert anonymous.get(f"/promotions/{made.pk}/").status_code == 200
    assert "Last one" in anonymous.get("/promotions/").content.decode()  # now from the cache

    with commit():
        _place(UserFactory(), (sku, 1))

    assert anonymous.get(f"/promotions/{made.pk}/").status_code == 404
    assert "Last one" not in anonymous.get("/promotions/").content.decode()


# --- A merchant's credit grade ---------------------------------------------------------------


@pytest.fixture
def two_shops():
    mine, category = _shop(grade="B")
    theirs, their_category = _shop(grade="B")
    lamp, _ = _stocked_sku(price="100.00", merchant=mine, category=category)
    cup, _ = _stocked_sku(price="20.00", merchant=theirs, category=their_category)
    return mine, lamp, theirs, cup


def test_a_grade_change_into_or_out_of_a_or_d_makes_the_merchants_pages_stale(commit, two_shops):
    mine, lamp, _theirs, cup = two_shops
    platform = promotion(name="Platform 5 %", benefit="percentage", percent="5")
    names = (product_generation(lamp.product_id), product_generation(cup.product_id), LIST)
    staff = UserFactory(is_staff=True)

    for grade, stale in (
        ("C", set()),  # B → C: no page ranks or excludes by it
        ("D", {product_generation(lamp.product_id), LIST}),  # out of platform promotions
        ("A", {product_generation(lamp.product_id), LIST}),  # listed first
        ("B", {product_generation(lamp.product_id), LIST}),
    ):
        _seed(*names)
        with commit():
            merchant_services.merchant_set_credit_grade(merchant=mine, grade=grade, actor=staff, reason="rating")
        assert (Merchant.objects.get(pk=mine.pk).credit_grade, _stale(*names)) == (grade, stale)
    assert list(
        AuditLogEntry.objects.filter(action="merchant.credit_grade_changed")
        .order_by("id")
        .values_list("data", flat=True)
    ) == [{"from": "B", "to": "C"}, {"from": "C", "to": "D"}, {"from": "D", "to": "A"}, {"from": "A", "to": "B"}]
    assert platform.pk  # the platform promotion's page is cached under LIST


def test_a_grade_d_shop_leaves_the_cached_platform_promotion_page_at_once(commit, two_shops):
    mine, lamp, _theirs, cup = two_shops
    platform = promotion(name="Platform 5 %", benefit="percentage", percent="5")
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    with commit():
        pass
    page = anonymous.get(f"/promotions/{platform.pk}/").content.decode()
    assert lamp.product.title in page

    with commit():
        merchant_services.merchant_set_credit_grade(merchant=mine, grade="D", reason="rating")

    page = anonymous.get(f"/promotions/{platform.pk}/").content.decode()
    assert f"/p/{lamp.product_id}/" not in page
    assert f"/p/{cup.product_id}/" in page


def test_setting_the_same_grade_writes_and_bumps_nothing(commit, two_shops):
    mine, lamp, _theirs, _cup = two_shops
    names = (product_generation(lamp.product_id), LIST)
    _seed(*names)
    audits = AuditLogEntry.objects.count()
    with commit():
        merchant_services.merchant_set_credit_grade(merchant=mine, grade="B")
    assert (AuditLogEntry.objects.count(), _stale(*names)) == (audits, set())


def test_an_invalid_grade_is_refused_and_nothing_changes(commit, two_shops):
    mine, lamp, _theirs, _cup = two_shops
    names = (product_generation(lamp.product_id), LIST)
    _seed(*names)
    audits = AuditLogEntry.objects.count()
    with commit(), pytest.raises(MerchantError) as caught:
        merchant_services.merchant_set_credit_grade(merchant=mine, grade="E")
    assert (caught.value.code, caught.value.status_code, caught.value.extra) == (
        "invalid_credit_grade",
        400,
        {"grade": "E"},
    )
    assert (Merchant.objects.get(pk=mine.pk).credit_grade, AuditLogEntry.objects.count()) == ("B", audits)
    assert _stale(*names) == set()


def test_a_grade_change_rolled_back_bumps_nothing(commit, two_shops):
    mine, lamp, _theirs, _cup = two_shops
    names = (product_generation(lamp.product_id), LIST)
    _seed(*names)
    with commit(), pytest.raises(RuntimeError), transaction.atomic():
        merchant_services.merchant_set_credit_grade(merchant=mine, grade="D")
        raise RuntimeError("the caller fails after")
    assert (Merchant.objects.get(pk=mine.pk).credit_grade, _stale(*names)) == ("B", set())
