"""Reads of the promotions app, always scoped to who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, QuerySet
from django.utils import timezone

from catalog.selectors import sku_on_sale
from marketplace.money import ZERO, allocate, quantize, to_decimal

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


# --- Pricing a buyer's holds (checkout and the cart) ------------------------------------------


@dataclass
class FlashHold:
    """The buyer's live reservations of one SKU that a checkout line uses.

    `parts`: each reservation of the sale with the units of it the line uses (oldest first;
    0 for one the line does not need). `units`: their sum, the units priced at the special
    price — at most the units ordered and at most the units held."""

    sku_id: int
    sale_id: int
    special_price: Decimal
    platform_share: Decimal
    units: int = 0
    parts: list[tuple[FlashReservation, int]] = field(default_factory=list)

    def discount(self, unit_price: Decimal) -> tuple[Decimal, Decimal]:
        """(merchant part, platform part) of (price − special price) × units, split by the
        sale's funding with `money.allocate` (the parts add up to the discount)."""
        per_unit = max(to_decimal(unit_price) - self.special_price, ZERO)
        total = quantize(per_unit * self.units)
        merchant, platform = allocate(total, [Decimal("1") - self.platform_share, self.platform_share])
        return merchant, platform


def flash_holds_plan(reservations, quantities: dict[int, int]) -> dict[int, FlashHold]:
    """Which units of `reservations` (the buyer's live ones, with their sale, oldest first)
    lines of `quantities` (SKU id → units) use: per SKU, the units of its oldest sale's
    reservations, oldest first, up to the units ordered. No query: `flash_holds_lock` plans
    the checkout on the locked rows, and the cart's pricing (`orders.selectors.cart_pricing`)
    on the rows `promotions.selectors.flash_holds_live_for_buyer` read, so the cart shows
    the flash price checkout charges. Reservations of SKUs not in `quantities` are ignored."""
    holds: dict[int, FlashHold] = {}
    for row in reservations:
        sku_id = row.sale.sku_id
        if sku_id not in quantities:
            continue
        hold = holds.setdefault(sku_id, FlashHold(sku_id, row.sale_id, row.sale.special_price, row.sale.platform_share))
        # One sale per SKU and window: a reservation of another (older) sale of the SKU is
        # left alone (it expires at its time).
        if row.sale_id == hold.sale_id:
            used = min(row.units, quantities[sku_id] - hold.units)
            hold.units += used
            hold.parts.append((row, used))
    return holds
