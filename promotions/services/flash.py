"""Flash sales (秒杀): creating and pausing them, admitting buyers, holding, consuming,
expiring and returning reservations.

Guarantees:
- admission is decided by one atomic Redis script (`promotions.flash_redis`): a refusal (not
  started, ended, paused, sold out, the buyer's limit reached) asks the database nothing;
- an admitted buyer's reservation is written to the database right after, in one transaction
  that locks the sale row and checks the quantity and the buyer's limit again: the database's
  counters and constraint (`flash_sale_never_oversold`) are the last word, so the units held
  and sold never exceed the quantity even when Redis is wrong;
- a missing Redis state is rebuilt from the database under a Redis lock (quantity − sold −
  reserved); a change of the sale drops the state after commit, so it is rebuilt with it;
- expired reservations return their units exactly once (a status change under the row's lock
  decides; Redis gets them back after commit, keyed by the reservation): by the periodic job,
  and lazily by the first admission of the sale refused `sold_out` or `limit_reached` after
  they fell due (Redis notes when each hold falls due, so only then is the database asked),
  which then asks again; a checkout never uses an expired hold, even before either ran;
- checkout (`orders.services.checkout`) locks the buyer's live reservations of its SKUs
  (`flash_holds_lock`), prices the units it uses at the special price (at most the units
  ordered, at most the units held: more ordered than held pay the normal price for the rest)
  and consumes them in its transaction (`flash_holds_consume`), giving the units held but not
  ordered back to the pool at once; cancelling that order returns the units bought once
  (`flash_reservations_return`).
Locks are taken reservations first, then sale rows, each in primary-key order (admission
locks only the sale row).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import sku_available_units, sku_public_queryset
from marketplace.audit import audit_record
from marketplace.errors import NotFoundError
from marketplace.jobs import run_each
from marketplace.money import ZERO, quantize, to_decimal
from marketplace.transitions import transition

from .. import flash_redis
from ..choices import FlashFunding, FlashReservationStatus
from ..errors import FlashSaleConflict, FlashSaleError
from ..models import FLASH_RESERVATION_TRANSITIONS, FlashReservation, FlashSale
from ..selectors.flash import FlashHold, flash_holds_plan

logger = logging.getLogger(__name__)

#: Units one admission may ask for (the sale's own limit is usually lower).
MAX_UNITS_PER_ADMISSION = 100
HELD = (FlashReservationStatus.PENDING, FlashReservationStatus.CONSUMED)

REFUSALS = {
    "not_started": _("This flash sale has not started yet."),
    "ended": _("This flash sale has ended."),
    "paused": _("This flash sale is paused."),
    "sold_out": _("Sold out: every unit of this flash sale is taken."),
    "limit_reached": _("You have reached the limit per buyer of this flash sale."),
}


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


# --- Creating and changing --------------------------------------------------------------------


def _clean_funding(funding: str, platform_share, *, by_staff: bool) -> tuple[str, Decimal]:
    if funding == FlashFunding.MERCHANT:
        return funding, Decimal("0")
    if not by_staff:
        raise FlashSaleError("funding_not_allowed", _("Only operations staff may fund a flash sale by the platform."))
    if funding == FlashFunding.PLATFORM:
        return funding, Decimal("1")
    if funding == FlashFunding.SPLIT:
        share = to_decimal(platform_share if platform_share is not None else "0")
        if not Decimal("0") < share < Decimal("1") or share != share.quantize(Decimal("0.0001")):
            raise FlashSaleError(
                "invalid_platform_share", _("The platform share of a split is a ratio between 0 and 1, such as 0.5.")
            )
        return funding, share
    raise FlashSaleError("invalid_funding", _("Choose who funds the flash sale."))


@transaction.atomic
def flash_sale_create(
    *,
    merchant,
    actor,
    sku,
    special_price,
    quantity: int,
    per_buyer_limit: int,
    starts_at,
    ends_at,
    funding: str = FlashFunding.MERCHANT,
    platform_share=None,
    by_staff: bool = False,
    now=None,
) -> FlashSale:
    """Create a flash sale of `merchant`'s `sku` (another merchant's SKU: 404).

    Checks: the SKU is on sale; 0 < special price < the SKU's price; the window lies in the
    future and ends after it starts; 1 ≤ limit per buyer ≤ quantity ≤ the units available
    now (the stock is not reserved: the normal checkout reserves it); no other sale of the
    SKU overlaps the window (checked under the SKU's lock, so two creations cannot both pass).
    Merchants fund their sales; `by_staff` (operations) may fund them by the platform or a
    ratio. Writes the audit entry; nothing is written on a refusal (400/409 with its code).
    """
    now = now or timezone.now()
    if sku is None or sku.merchant_id != merchant.pk:
        raise NotFoundError(message=_("No such SKU."))
    funding, share = _clean_funding(funding, platform_share, by_staff=by_staff)
    on_sale = (
        sku_public_queryset()
        .filter(pk=sku.pk)
        .select_for_update(of=("self",))
        .annotate(available=sku_available_units(OuterRef("pk")))
        .values("price", "available")
        .first()
    )
    if on_sale is None:
        raise FlashSaleError("sku_not_on_sale", _("This SKU is not on sale: publish it first."))
    special_price = quantize(special_price)
    if not ZERO < special_price < on_sale["price"]:
        raise FlashSaleError(
            "invalid_special_price",
            _("The special price must be above zero and below the SKU's price (%(price)s).")
            % {"price": on_sale["price"]},
            {"price": str(on_sale["price"])},
        )
    if starts_at <= now:
        raise FlashSaleError("window_in_past", _("A flash sale must start in the future."))
    if ends_at <= starts_at:
        raise FlashSaleError("invalid_window", _("A flash sale must end after it starts."))
    available = on_sale["available"] or 0
    if not isinstance(quantity, int) or quantity < 1 or quantity > available:
        raise FlashSaleError(
            "quantity_exceeds_stock",
            _("The quantity must be from 1 to the %(available)s units available now.") % {"available": available},
            {"available": available},
        )
    if not isinstance(per_buyer_limit, int) or not 1 <= per_buyer_limit <= min(quantity, MAX_UNITS_PER_ADMISSION):
        raise FlashSaleError(
            "invalid_limit",
            _("The limit per buyer must be from 1 to %(max)s.") % {"max": min(quantity, MAX_UNITS_PER_ADMISSION)},
        )
    if FlashSale.objects.filter(sku=sku, starts_at__lt=ends_at, ends_at__gt=starts_at).exists():
        raise FlashSaleConflict("flash_sale_overlaps", _("Another flash sale of this SKU overlaps this time window."))
    sale = FlashSale.objects.create(
        merchant=merchant,
        sku=sku,
        special_price=special_price,
        quantity=quantity,
        per_buyer_limit=per_buyer_limit,
        starts_at=starts_at,
        ends_at=ends_at,
        funding=funding,
        platform_share=share,
        created_by=actor,
    )
    audit_record(
        action="promotions.flash_sale_created",
        actor=actor,
        obj=sale,
        data={"sku": sku.pk, "special_price": str(special_price), "quantity": quantity, "funding": funding},
    )
    return sale


@transaction.atomic
def flash_sale_set_paused(*, sale: FlashSale, paused: bool, actor, merchant=None) -> FlashSale:
    """Pause a sale (admissions refused with `paused`; reservations already held stay valid)
    or resume it. `merchant`: the acting merchant, which must own the sale (404 otherwise);
    None for operations staff. Locks the sale row; writes the audit entry; drops the Redis
    state after commit so the next admission rebuilds it paused or not."""
    locked = FlashSale.objects.select_for_update().filter(pk=sale.pk).first()
    if locked is None or (merchant is not None and locked.merchant_id != merchant.pk):
        raise NotFoundError(message=_("No such flash sale."))
    if locked.is_paused != paused:
        locked.is_paused = paused
        locked.save(update_fields=["is_paused", "updated_at"])
        audit_record(
            action="promotions.flash_sale_paused" if paused else "promotions.flash_sale_resumed",
            actor=actor,
            obj=locked,
        )
        transaction.on_commit(partial(flash_redis.forget, locked.pk))
    return locked


def flash_sale_changed(*, sale_id: int) -> None:
    """A sale's terms were changed (the admin): drop its Redis state after commit, so the next
    admission rebuilds it from the database with the new terms."""
    transaction.on_commit(partial(flash_redis.forget, sale_id))


# --- The Redis state ----------------------------------------------------------------------------


def flash_sale_rebuild(*, sale_id: int, force: bool = False) -> bool:
    """(Re)install the sale's Redis state from the database: remaining = quantity − sold −
    reserved, each buyer's units held or bought, the window, limit and pause. Holds the
    sale's Redis lock while reading and installing; unless `force`, installs nothing when
    another process installed a state meanwhile. The reservations it counted take the new
    state's generation (their later give-backs, on expiry or cancellation, then count in it)
    and the pending ones are noted for the lazy expiry. 404 when the sale does not exist."""
    with flash_redis.lock(sale_id):
        sale = FlashSale.objects.filter(pk=sale_id).first()
        if sale is None:
            raise NotFoundError(message=_("No such flash sale."))
        held = list(
            FlashReservation.objects.filter(sale_id=sale_id, status__in=HELD).values_list(
                "pk", "buyer_id", "units", "status", "expires_at"
            )
        )
        taken: dict[int, int] = defaultdict(int)
        for _pk, buyer_id, units, _status, _expires_at in held:
            taken[buyer_id] += units
        installed = flash_redis.install(
            sale_id,
            remaining=sale.remaining_units,
            start_ms=_ms(sale.starts_at),
            end_ms=_ms(sale.ends_at),
            limit=sale.per_buyer_limit,
            paused=sale.is_paused,
            taken=dict(taken),
            force=force,
        )
        if installed and held:
            gen = flash_redis.client().hget(flash_redis.keys(sale_id)[0], "gen").decode()
            # Only the rows counted, and still in the state counted (a reservation that moved
            # meanwhile already gave back to the old generation: dropped, Redis under-sells
            # until the next rebuild, never over-admits). Locked in primary-key order, as
            # checkouts and cancellations lock them, so none of them can deadlock with this.
            counted = {row[0]: row[3] for row in held}
            with transaction.atomic():
                now_in = (
                    FlashReservation.objects.select_for_update()
                    .filter(pk__in=list(counted))
                    .order_by("pk")
                    .values_list("pk", "status")
                )
                same = [pk for pk, status in now_in if counted[pk] == status]
                FlashReservation.objects.filter(pk__in=same).update(redis_gen=gen)
            _due_add(sale_id, {row[0]: row[4] for row in held if row[3] == FlashReservationStatus.PENDING})
        return installed


def _state_is_current(sale: FlashSale, state: dict, taken: dict[int, int]) -> bool:
    """Whether the Redis `state` (`flash_redis.snapshot`) says what the database says."""
    if not state:
        return False
    expected = (
        str(max(sale.remaining_units, 0)),
        str(_ms(sale.starts_at)),
        str(_ms(sale.ends_at)),
        str(sale.per_buyer_limit),
        "1" if sale.is_paused else "0",
        taken,
    )
    found = tuple(state.get(name) for name in ("remaining", "start", "end", "limit", "paused", "buyers"))
    return found == expected


def flash_sales_rebuild_all(*, now=None) -> int:
    """Rebuild the Redis state of each sale not ended whose state is missing (Redis lost or
    flushed) or stale (its remaining units, buyers' units, window, limit or pause differ from
    the database's), and of no other: a second run finds every state current and writes
    nothing. Returns how many were rebuilt. Two queries, then two Redis reads per sale; no
    database transaction is open while Redis is written. (An admission or a give-back in
    flight while it compares may make a current state look stale: rebuilding it then is
    harmless, the rebuild reads the database under the sale's Redis lock.)"""
    now = now or timezone.now()
    sales = list(FlashSale.objects.filter(ends_at__gt=now).order_by("pk"))
    taken: dict[int, dict[int, int]] = defaultdict(dict)
    rows = (
        FlashReservation.objects.filter(sale__in=[sale.pk for sale in sales], status__in=HELD)
        .values("sale_id", "buyer_id")
        .annotate(units=Sum("units"))
        .values_list("sale_id", "buyer_id", "units")
    )
    for sale_id, buyer_id, units in rows:
        taken[sale_id][buyer_id] = units
    rebuilt = 0
    for sale in sales:
        state = flash_redis.snapshot(sale.pk)
        if _state_is_current(sale, state, taken[sale.pk]):
            continue
        # Missing: install unless an admission rebuilt it meanwhile; stale: replace it.
        rebuilt += flash_sale_rebuild(sale_id=sale.pk, force=bool(state))
    return rebuilt


# --- Admission ----------------------------------------------------------------------------------


def flash_sale_admit(*, sale_id: int, buyer_id: int, units: int = 1, now=None) -> FlashReservation:
    """Admit buyer `buyer_id` to `units` units of the sale, or refuse with 409 and a stable
    code: not_started, ended, paused, sold_out, limit_reached (`extra.left`: units the buyer
    may still take, or left in the sale). The decision is the Redis script's (no database query
    for a refusal); an admission then holds a reservation written to the database, valid
    FLASH_SALE_HOLD_MINUTES. A missing Redis state is rebuilt first (404: no such sale).
    Refused sold_out or limit_reached while holds of the sale are past their time: those
    expire first (their units back to the pool) and the script is asked once more."""
    if not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= MAX_UNITS_PER_ADMISSION:
        raise FlashSaleError(
            "invalid_quantity",
            _("Quantities are whole numbers from %(low)s to %(high)s.") % {"low": 1, "high": MAX_UNITS_PER_ADMISSION},
        )
    now = now or timezone.now()
    decision = flash_redis.admit(sale_id, buyer_id, units, _ms(now))
    if decision.outcome == "missing":
        flash_sale_rebuild(sale_id=sale_id)
        decision = flash_redis.admit(sale_id, buyer_id, units, _ms(now))
    if decision.outcome in LAZY_EXPIRY and _return_expired_holds(sale_id=sale_id, gen=decision.gen, now=now):
        decision = flash_redis.admit(sale_id, buyer_id, units, _ms(now))
    if decision.outcome != "admitted":
        if decision.outcome == "missing":  # dropped again at once (a change of the sale): say so
            raise FlashSaleConflict("try_again", _("The flash sale is being updated; try again."))
        raise FlashSaleConflict(decision.outcome, REFUSALS[decision.outcome], {"left": decision.left})
    try:
        return _hold(sale_id=sale_id, buyer_id=buyer_id, units=units, gen=decision.gen, now=now)
    except FlashSaleConflict:
        # Redis admitted what the database refuses: Redis was wrong (the state is stale);
        # rebuild it from the database rather than give the units back to a wrong count.
        flash_redis.forget(sale_id)
        raise
    except Exception:
        flash_redis.give_back(sale_id, gen=decision.gen, buyer_id=buyer_id, units=units)
        raise


@transaction.atomic
def _hold(*, sale_id: int, buyer_id: int, units: int, gen: str, now) -> FlashReservation:
    """The reservation of an admission, checked again under the sale row's lock."""
    sale = (
        FlashSale.objects.select_for_update()
        .only("sku_id", "quantity", "sold_units", "reserved_units", "per_buyer_limit")
        .get(pk=sale_id)
    )
    if sale.remaining_units < units:
        raise FlashSaleConflict("sold_out", REFUSALS["sold_out"], {"left": max(sale.remaining_units, 0)})
    taken = (
        FlashReservation.objects.filter(sale_id=sale_id, buyer_id=buyer_id, status__in=HELD).aggregate(
            units=Sum("units")
        )["units"]
        or 0
    )
    if taken + units > sale.per_buyer_limit:
        raise FlashSaleConflict(
            "limit_reached", REFUSALS["limit_reached"], {"left": max(sale.per_buyer_limit - taken, 0)}
        )
    FlashSale.objects.filter(pk=sale_id).update(reserved_units=F("reserved_units") + units)
    reservation = FlashReservation.objects.create(
        sale=sale,
        buyer_id=buyer_id,
        units=units,
        expires_at=now + timedelta(minutes=settings.FLASH_SALE_HOLD_MINUTES),
        redis_gen=gen,
    )
    transaction.on_commit(partial(_due_add, sale_id, {reservation.pk: reservation.expires_at}))
    return reservation


# --- Expiry -------------------------------------------------------------------------------------


def _give_back_after_commit(reservation: FlashReservation) -> None:
    transaction.on_commit(
        partial(
            flash_redis.give_back,
            reservation.sale_id,
            gen=reservation.redis_gen,
            buyer_id=reservation.buyer_id,
            units=reservation.units,
            token=str(reservation.pk),
        )
    )


def _expire_one(pk: int, *, now) -> bool:
    reservation = (
        FlashReservation.objects.select_for_update(skip_locked=True)
        .filter(pk=pk, status=FlashReservationStatus.PENDING, expires_at__lte=now)
        .first()
    )
    if reservation is None:
        return False  # consumed or expired meanwhile, or being consumed right now
    sale = FlashSale.objects.select_for_update().only("pk").get(pk=reservation.sale_id)
    transition(reservation, "expire", table=FLASH_RESERVATION_TRANSITIONS, lock=False)
    FlashSale.objects.filter(pk=sale.pk).update(reserved_units=F("reserved_units") - reservation.units)
    _give_back_after_commit(reservation)
    return True


#: Admission refusals after which holds past their time are returned first (then it asks again).
LAZY_EXPIRY = ("sold_out", "limit_reached")
#: Per (sale, Redis generation): the epoch ms before which no hold of the sale falls due, so
#: the refusals of a burst ask Redis for due holds about once per hold time, not each time.
_next_due: dict[tuple[int, str], int] = {}
NEXT_DUE_MAX = 10_000


def _due_key(sale_id: int) -> str:
    # A sorted set beside the admission state (same hash tag): reservation id → expiry (ms).
    # Not part of the admission state: a rebuild refills it from the database.
    return f"{flash_redis.keys(sale_id)[0]}:due"


def _due_add(sale_id: int, expiries: dict) -> None:
    """Note when these reservations (id → expires_at) fall due, for the lazy expiry."""
    if not expiries:
        return
    key = _due_key(sale_id)
    pipe = flash_redis.client().pipeline(transaction=False)
    pipe.zadd(key, {str(pk): _ms(moment) for pk, moment in expiries.items()})
    pipe.pexpireat(key, max(_ms(moment) for moment in expiries.values()) + flash_redis.KEEP_AFTER_END_MS)
    pipe.execute()


def _return_expired_holds(*, sale_id: int, gen: str, now) -> int:
    """Expire the sale's pending reservations past their time now rather than at the next
    run of the expiry job (each as `flash_reservations_expire` does: once, under its locks,
    Redis given the units back after commit); returns how many expired. Asks Redis only when
    a hold may be due (holds taken later fall due later: the earliest one noted bounds them
    all), the database only when one is."""
    now_ms = _ms(now)
    if _next_due.get((sale_id, gen), 0) > now_ms:
        return 0
    client = flash_redis.client()
    key = _due_key(sale_id)
    due = [int(pk) for pk in client.zrangebyscore(key, "-inf", now_ms, start=0, num=100)]
    expired = 0
    if due:
        for pk in due:
            with transaction.atomic():
                expired += _expire_one(pk, now=now)
        # A reservation being checked out right now (skipped) stays noted; the others are done.
        pending = set(
            FlashReservation.objects.filter(pk__in=due, status=FlashReservationStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if done := [pk for pk in due if pk not in pending]:
            client.zrem(key, *done)
    first = client.zrange(key, 0, 0, withscores=True)
    hold_ms = settings.FLASH_SALE_HOLD_MINUTES * 60_000
    next_due = int(first[0][1]) if first else now_ms + hold_ms
    if len(_next_due) >= NEXT_DUE_MAX:
        _next_due.clear()
    # One still due (being checked out): look again in a second, not at every refusal.
    _next_due[(sale_id, gen)] = max(next_due, now_ms + 1000)
    return expired


def flash_reservations_expire(*, now=None) -> int:
    """Periodic: expire pending reservations past their time, each in its own transaction
    (reservation locked with skip_locked, then its sale row — the checkout takes them the
    other way round only for rows it holds already), returning their units to the sale in
    the database and, after commit, to Redis. Idempotent: a reservation expires once.
    Returns how many expired."""
    now = now or timezone.now()
    ids = FlashReservation.objects.filter(status=FlashReservationStatus.PENDING, expires_at__lte=now).order_by("pk")
    run = run_each(
        job="promotions.flash_reservations_expire",
        object_type="promotions.flashreservation",
        ids=ids.values_list("pk", flat=True),
        handle=partial(_expire_one, now=now),
    )
    return run.done


# --- Checkout -----------------------------------------------------------------------------------


def flash_holds_lock(*, buyer, quantities: dict[int, int], now=None) -> dict[int, FlashHold]:
    """For a checkout of `quantities` (SKU id → units): lock the buyer's live reservations
    of these SKUs (pending and `expires_at` after `now`: an expired one is never used, even
    before the expiry job ran) in primary-key order and return, per SKU, how many units of
    which reservations the line uses, oldest first, up to the quantity ordered.

    Ordering fewer units than held uses part of the hold: `flash_holds_consume` returns the
    rest to the sale at once. Ordering more than held prices the held units at the special
    price and the others at the normal price (the line's discount covers the held units
    only), so the special price never goes to more units than the buyer was admitted to,
    hence never beyond the sale's quantity or the buyer's limit. One query. Call inside the
    checkout's transaction and pass the result to `flash_holds_consume` in the same one."""
    now = now or timezone.now()
    rows = (
        FlashReservation.objects.select_for_update(of=("self",))
        .filter(
            buyer=buyer,
            status=FlashReservationStatus.PENDING,
            expires_at__gt=now,
            sale__sku_id__in=list(quantities),
        )
        .select_related("sale")
        .only(
            "pk",
            "units",
            "status",
            "redis_gen",
            "buyer_id",
            "sale__id",
            "sale__sku_id",
            "sale__special_price",
            "sale__platform_share",
        )
        .order_by("pk")
    )
    return flash_holds_plan(rows, quantities)


def _give_back_unused_after_commit(reservation: FlashReservation, units: int) -> None:
    # Its own token: the units a partly used reservation gives back now are not the ones a
    # cancellation of its order gives back later (token: the reservation's id).
    transaction.on_commit(
        partial(
            flash_redis.give_back,
            reservation.sale_id,
            gen=reservation.redis_gen,
            buyer_id=reservation.buyer_id,
            units=units,
            token=f"{reservation.pk}:unused",
        )
    )


def flash_holds_consume(*, holds: dict[int, FlashHold], order_numbers: dict[int, str]) -> None:
    """Use the locked reservations of `holds` for the merchant order numbered
    `order_numbers[sku_id]`: a reservation used whole is consumed; one used in part is
    consumed for the units used (its `units` becomes that) and gives the rest back; one not
    used at all expires now. On the sales (rows locked in primary-key order) the units used
    move from reserved to sold and the units not used leave reserved, so they go back to the
    pool at once, and to Redis after commit (with the buyer's limit). Inside the checkout's
    transaction: a rolled-back checkout consumes and returns nothing."""
    if not holds:
        return
    held: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    for hold in holds.values():
        held[hold.sale_id] += sum(reservation.units for reservation, _used in hold.parts)
        sold[hold.sale_id] += hold.units
    list(FlashSale.objects.select_for_update().filter(pk__in=list(held)).order_by("pk").values_list("pk"))
    for sku_id, hold in holds.items():
        for reservation, used in hold.parts:  # locked by flash_holds_lock
            if not used:
                transition(reservation, "expire", table=FLASH_RESERVATION_TRANSITIONS, lock=False)
                _give_back_after_commit(reservation)
                continue
            unused = reservation.units - used
            transition(
                reservation,
                "consume",
                table=FLASH_RESERVATION_TRANSITIONS,
                lock=False,
                changes={"order_number": order_numbers[sku_id], "units": used},
            )
            if unused:
                _give_back_unused_after_commit(reservation, unused)
    for sale_id in sorted(held):
        FlashSale.objects.filter(pk=sale_id).update(
            reserved_units=F("reserved_units") - held[sale_id], sold_units=F("sold_units") + sold[sale_id]
        )


def flash_reservations_return(*, order_number: str) -> int:
    """The merchant order `order_number` was cancelled: its consumed reservations return their
    units to their sales, exactly once (the status moves consumed → returned under the rows'
    locks; a second call finds none). Reservations locked, then sales, in primary-key order.
    Redis gets the units back after commit. Call inside the cancelling transaction; returns
    the units returned."""
    reservations = list(
        FlashReservation.objects.select_for_update()
        .filter(order_number=order_number, status=FlashReservationStatus.CONSUMED)
        .order_by("pk")
    )
    if not reservations:
        return 0
    sale_ids = sorted({reservation.sale_id for reservation in reservations})
    list(FlashSale.objects.select_for_update().filter(pk__in=sale_ids).order_by("pk").values_list("pk"))
    by_sale: dict[int, int] = defaultdict(int)
    for reservation in reservations:
        by_sale[reservation.sale_id] += reservation.units
        transition(reservation, "return", table=FLASH_RESERVATION_TRANSITIONS, lock=False)
        _give_back_after_commit(reservation)
    for sale_id, units in sorted(by_sale.items()):
        FlashSale.objects.filter(pk=sale_id).update(sold_units=F("sold_units") - units)
    return sum(by_sale.values())


def flash_reservation_units_for_buyer(*, sale_id: int, buyer_id: int) -> int:
    """Units the buyer holds or bought in the sale (the database's count)."""
    return (
        FlashReservation.objects.filter(sale_id=sale_id, buyer_id=buyer_id, status__in=HELD).aggregate(
            units=Sum("units")
        )["units"]
        or 0
    )


__all__ = [
    "FlashHold",
    "flash_holds_consume",
    "flash_holds_lock",
    "flash_holds_plan",
    "flash_reservations_expire",
    "flash_reservations_return",
    "flash_sale_admit",
    "flash_sale_changed",
    "flash_sale_create",
    "flash_sale_rebuild",
    "flash_sale_set_paused",
    "flash_sales_rebuild_all",
]
