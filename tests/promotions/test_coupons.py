"""Coupons: claiming (total count and per-buyer limit, under concurrency too), public codes,
giving back, expiry."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from marketplace.errors import NotFoundError
from promotions import selectors, services
from promotions.choices import CouponState, PromotionStatus
from promotions.errors import CouponConflict, CouponError
from promotions.models import Coupon, CouponCode, Promotion
from tests.factories import UserFactory
from tests.promotions.coupon_factories import coupon_promotion

pytestmark = pytest.mark.django_db


def _counts(promotion):
    """(coupons issued, uses counted): claims issue coupons, only checkout counts uses."""
    promotion.refresh_from_db()
    return Coupon.objects.filter(promotion=promotion).count(), promotion.uses_count


def test_claim_gives_the_buyer_an_available_coupon_with_a_unique_code():
    promotion = coupon_promotion(max_uses=10)
    buyer = UserFactory()
    first = services.coupon_claim(promotion=promotion, buyer=buyer)
    second = services.coupon_claim(promotion=promotion, buyer=UserFactory())
    first.refresh_from_db()
    assert (first.state, first.buyer_id, first.promotion_id, first.order_id, first.used_at) == (
        CouponState.AVAILABLE,
        buyer.pk,
        promotion.pk,
        None,
        None,
    )
    assert len(first.code) == 12 and first.code.isalnum() and first.code.isupper()
    assert first.code != second.code
    assert _counts(promotion) == (2, 0)


def test_claims_stop_at_the_total_count_and_nothing_is_written_on_a_refusal():
    promotion = coupon_promotion(max_uses=2)
    for _ in range(2):
        services.coupon_claim(promotion=promotion, buyer=UserFactory())
    with pytest.raises(CouponConflict) as refused:
        services.coupon_claim(promotion=promotion, buyer=UserFactory())
    assert refused.value.code == "coupon_used_up"
    assert _counts(promotion) == (2, 0)


def test_claims_stop_at_the_per_buyer_limit_and_the_count_is_not_taken():
    promotion = coupon_promotion(max_uses=10, per_buyer_limit=2)
    buyer = UserFactory()
    services.coupon_claim(promotion=promotion, buyer=buyer)
    services.coupon_claim(promotion=promotion, buyer=buyer)
    with pytest.raises(CouponConflict) as refused:
        services.coupon_claim(promotion=promotion, buyer=buyer)
    assert (refused.value.code, refused.value.extra) == ("coupon_limit_reached", {"limit": 2})
    assert _counts(promotion) == (2, 0)
    services.coupon_claim(promotion=promotion, buyer=UserFactory())  # another buyer still may
    assert _counts(promotion) == (3, 0)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": PromotionStatus.PAUSED}, "coupon_not_claimable"),
        ({"status": PromotionStatus.DRAFT}, "coupon_not_claimable"),
        ({"starts_at_hours": 2}, "coupon_not_started"),
        ({"ends_at_hours": -1}, "coupon_expired"),
    ],
)
def test_claims_outside_the_window_or_of_an_inactive_promotion_are_refused(change, code):
    now = timezone.now()
    kwargs = {}
    if "status" in change:
        kwargs["status"] = change["status"]
    if "starts_at_hours" in change:
        kwargs["starts_at"] = now + timedelta(hours=change["starts_at_hours"])
    if "ends_at_hours" in change:
        kwargs["starts_at"] = now - timedelta(days=2)
        kwargs["ends_at"] = now + timedelta(hours=change["ends_at_hours"])
    promotion = coupon_promotion(max_uses=5, **kwargs)
    with pytest.raises(CouponError) as refused:
        services.coupon_claim(promotion=promotion, buyer=UserFactory())
    assert refused.value.code == code
    assert _counts(promotion) == (0, 0)


def test_an_automatic_promotion_has_no_coupons():
    promotion = coupon_promotion()
    Promotion.objects.filter(pk=promotion.pk).update(channel="automatic")
    promotion.refresh_from_db()
    with pytest.raises(CouponError) as refused:
        services.coupon_claim(promotion=promotion, buyer=UserFactory())
    assert refused.value.code == "coupon_not_claimable"
    assert Coupon.objects.count() == 0


def test_a_public_code_is_claimed_in_any_case_and_honours_the_limits():
    promotion = coupon_promotion(max_uses=3, per_buyer_limit=1, code="SPRING20")
    buyer = UserFactory()
    coupon = services.coupon_claim_code(buyer=buyer, code=" spring20 ")
    assert (coupon.promotion_id, coupon.buyer_id) == (promotion.pk, buyer.pk)
    with pytest.raises(CouponConflict) as again:
        services.coupon_claim_code(buyer=buyer, code="SPRING20")
    assert again.value.code == "coupon_limit_reached"
    with pytest.raises(CouponError) as unknown:
        services.coupon_claim_code(buyer=buyer, code="WINTER20")
    assert (unknown.value.code, unknown.value.extra) == ("coupon_code_unknown", {"code": "WINTER20"})
    assert _counts(promotion) == (1, 0)


def test_coupon_code_set_validates_and_keeps_codes_unique():
    staff = UserFactory(is_staff=True)
    first, second = coupon_promotion(), coupon_promotion()
    assert services.coupon_code_set(promotion=first, code="vip2026", actor=staff).code == "VIP2026"
    with pytest.raises(CouponConflict) as taken:
        services.coupon_code_set(promotion=second, code="VIP2026", actor=staff)
    assert taken.value.code == "coupon_code_taken"
    for bad in ("AB", "VIP 2026", "优惠券优惠券", "X" * 33):
        with pytest.raises(CouponError) as invalid:
            services.coupon_code_set(promotion=second, code=bad, actor=staff)
        assert invalid.value.code == "invalid_coupon_code"
    assert list(CouponCode.objects.values_list("promotion_id", "code")) == [(first.pk, "VIP2026")]
    services.coupon_code_set(promotion=first, code="", actor=staff)
    assert CouponCode.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("total", [7])
def test_fifty_concurrent_claims_against_a_total_of_n_give_exactly_n(total):
    promotion = coupon_promotion(max_uses=total)
    buyers = [UserFactory() for _ in range(50)]
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def claim(buyer):
        try:
            barrier.wait()
            services.coupon_claim(promotion=promotion, buyer=buyer)
            outcomes.append("claimed")
        except CouponConflict as refused:
            outcomes.append(refused.code)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(buyer,)) for buyer in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(outcomes) == ["claimed"] * total + ["coupon_used_up"] * (50 - total)
    assert _counts(promotion) == (total, 0)
    assert Coupon.objects.values("buyer").distinct().count() == total


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_claims_by_one_buyer_stop_at_the_per_buyer_limit():
    promotion = coupon_promotion(max_uses=100, per_buyer_limit=3)
    buyer = UserFactory()
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def claim():
        try:
            barrier.wait()
            services.coupon_claim(promotion=promotion, buyer=buyer)
            outcomes.append("claimed")
        except CouponConflict as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["claimed"] * 3 + ["coupon_limit_reached"] * 47
    assert _counts(promotion) == (3, 0)


# --- Use, return, expiry (the checkout's own tests are in tests/orders/test_checkout_coupons.py)


def test_use_then_return_exactly_once():
    promotion = coupon_promotion()
    buyer = UserFactory()
    coupon = services.coupon_claim(promotion=promotion, buyer=buyer)
    services.coupon_use(coupon=coupon, buyer=buyer, order_id=41, order_number="B2612070000000041")
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.order_number) == (CouponState.USED, 41, "B2612070000000041")
    # coupon_use runs in the caller's transaction, which a refusal dooms: a savepoint here.
    with pytest.raises(CouponConflict) as again, transaction.atomic():
        services.coupon_use(coupon=coupon, buyer=buyer, order_id=42, order_number="B2612070000000042")
    assert again.value.code == "coupon_unavailable"
    assert services.coupon_return_for_order(order_id=41) == 1
    assert services.coupon_return_for_order(order_id=41) == 0
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.order_number, coupon.used_at) == (
        CouponState.AVAILABLE,
        None,
        "",
        None,
    )
    assert coupon.returned_at is not None
    assert _counts(promotion) == (1, 0)  # the coupon stays issued after it came back


def test_another_buyers_coupon_cannot_be_used_or_found():
    coupon = services.coupon_claim(promotion=coupon_promotion(), buyer=UserFactory())
    stranger = UserFactory()
    with pytest.raises(CouponConflict), transaction.atomic():
        services.coupon_use(coupon=coupon, buyer=stranger, order_id=1, order_number="B1")
    assert selectors.coupon_get_for_buyer(buyer=stranger, coupon_id=coupon.pk) is None
    assert selectors.coupon_get_for_buyer(buyer=stranger, code=coupon.code) is None
    with pytest.raises(NotFoundError):
        services.coupon_for_checkout(buyer=stranger, coupon_id=coupon.pk)
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE


def test_a_coupon_returned_after_its_window_ended_comes_back_expired():
    promotion = coupon_promotion()
    buyer = UserFactory()
    coupon = services.coupon_claim(promotion=promotion, buyer=buyer)
    services.coupon_use(coupon=coupon, buyer=buyer, order_id=7, order_number="B7")
    assert services.coupon_return_for_order(order_id=7, now=promotion.ends_at + timedelta(seconds=1)) == 1
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.EXPIRED, None)


def test_expiry_is_computed_then_written_once():
    promotion = coupon_promotion()
    other = coupon_promotion(ends_at=timezone.now() + timedelta(days=30))
    buyer = UserFactory()
    ending = services.coupon_claim(promotion=promotion, buyer=buyer)
    used = services.coupon_claim(promotion=promotion, buyer=buyer)
    services.coupon_use(coupon=used, buyer=buyer, order_id=9, order_number="B9")
    lasting = services.coupon_claim(promotion=other, buyer=buyer)
    later = promotion.ends_at
    # Computed before the job runs: the tabs and the displayed state already say expired.
    assert [c.pk for c in selectors.coupon_list_for_buyer(buyer=buyer, tab="expired", now=later)] == [ending.pk]
    assert [c.pk for c in selectors.coupon_list_for_buyer(buyer=buyer, tab="available", now=later)] == [lasting.pk]
    assert [c.pk for c in selectors.coupon_list_for_buyer(buyer=buyer, tab="used", now=later)] == [used.pk]
    assert selectors.coupon_display_state(Coupon.objects.get(pk=ending.pk), now=later) == CouponState.EXPIRED
    assert services.coupon_expire_due(now=later) == 1
    assert services.coupon_expire_due(now=later) == 0
    states = dict(Coupon.objects.values_list("pk", "state"))
    assert states == {ending.pk: CouponState.EXPIRED, used.pk: CouponState.USED, lasting.pk: CouponState.AVAILABLE}
    with pytest.raises(CouponError) as expired:
        services.coupon_check_usable(Coupon.objects.select_related("promotion").get(pk=ending.pk), now=later)
    assert expired.value.code == "coupon_expired"


def test_ending_a_promotion_expires_its_available_coupons():
    promotion = coupon_promotion()
    coupon = services.coupon_claim(promotion=promotion, buyer=UserFactory())
    Promotion.objects.filter(pk=promotion.pk).update(status=PromotionStatus.ENDED)
    assert services.coupon_expire_due() == 1
    coupon.refresh_from_db()
    assert coupon.state == CouponState.EXPIRED


def test_the_expiry_task_runs_the_job():
    from promotions.tasks import coupon_expire_due_task

    promotion = coupon_promotion()
    coupon = services.coupon_claim(promotion=promotion, buyer=UserFactory())
    Promotion.objects.filter(pk=promotion.pk).update(status=PromotionStatus.ENDED)
    assert coupon_expire_due_task() == 1
    assert coupon_expire_due_task() == 0
    coupon.refresh_from_db()
    assert coupon.state == CouponState.EXPIRED
