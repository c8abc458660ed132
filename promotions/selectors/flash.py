"""Reads of the promotions app, always scoped to who is asking."""

from __future__ import annotations

from django.db.models import Exists, QuerySet
from django.utils import timezone

from catalog.selectors import sku_on_sale

from ..choices import FlashReservationStatus, FlashSaleState
from ..models import FlashReservation, FlashSale

# --- Flash sales ---------------------------------------------------------------------------------


def flash_sale_state(sale: FlashSale, now=None) -> str:
    """What a buyer sees of the sale now (the database's view; admission asks Redis)."""
    now = now or timezone.now()
    if now >= sale.ends_at:
        return FlashSaleState.ENDED
    if sale.is_paused:
        return FlashSaleState.PAUSED
    if now < sale.starts_at:
        return FlashSaleState.UPCOMING
    if sale.remaining_units <= 0:
        return FlashSaleState.SOLD_OUT
    return FlashSaleState.LIVE


def _with_sku(queryset: QuerySet[FlashSale]) -> QuerySet[FlashSale]:
    return queryset.select_related("sku", "sku__product", "merchant")


def flash_sale_list_public(now=None) -> QuerySet[FlashSale]:
    """Sales buyers may see: not ended, of a SKU on sale; the ones on now first, then the
    upcoming ones by start."""
    now = now or timezone.now()
    return (
        _with_sku(FlashSale.objects.filter(sku_on_sale("sku__"), ends_at__gt=now))
        .only(
            "id",
            "special_price",
            "quantity",
            "per_buyer_limit",
            "starts_at",
            "ends_at",
            "is_paused",
            "sold_units",
            "reserved_units",
            "sku__id",
            "sku__code",
            "sku__attributes",
            "sku__price",
            "sku__product__id",
            "sku__product__title",
            "merchant__id",
            "merchant__shop_name",
            "merchant__company_name",
            "merchant__slug",
        )
        .order_by("starts_at", "id")
    )


def flash_sale_get_public(sale_id: int) -> FlashSale | None:
    return flash_sale_list_public().filter(pk=sale_id).first()


def flash_sale_list_for_merchant(merchant) -> QuerySet[FlashSale]:
    """The merchant's own sales, newest window first."""
    return _with_sku(FlashSale.objects.filter(merchant=merchant)).order_by("-starts_at", "-id")


def flash_sale_get_for_merchant(merchant, sale_id: int) -> FlashSale | None:
    return flash_sale_list_for_merchant(merchant).filter(pk=sale_id).first()


def flash_reservation_list_for_buyer(buyer) -> QuerySet[FlashReservation]:
    """The buyer's own reservations, newest first, with their sale and SKU."""
    return FlashReservation.objects.filter(buyer=buyer).select_related("sale", "sale__sku", "sale__sku__product")


def flash_holds_live_for_buyer(buyer, now=None) -> list[FlashReservation]:
    """The buyer's holds a checkout would use at `now` (pending, not past their time), oldest
    first, with their sale, SKU and product: what the cart and checkout pages show. One query."""
    now = now or timezone.now()
    return list(
        FlashReservation.objects.filter(buyer=buyer, status=FlashReservationStatus.PENDING, expires_at__gt=now)
        .select_related("sale", "sale__sku", "sale__sku__product")
        .order_by("pk")
    )


def flash_hold_pending(sku_ref, *, buyer, now) -> Exists:
    """Whether `buyer` holds a live reservation of the SKU `sku_ref` (an `OuterRef`), as an
    annotation of the checkout's SKU query: a checkout whose buyer holds none skips locking
    holds (`flash_holds_lock`, a round trip) altogether."""
    return Exists(
        FlashReservation.objects.filter(
            buyer=buyer, status=FlashReservationStatus.PENDING, expires_at__gt=now, sale__sku_id=sku_ref
        )
    )
