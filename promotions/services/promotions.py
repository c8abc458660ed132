"""Creating, editing and moving promotions through their states.

Guarantees:
- a promotion is valid when it is saved (`_validate`: stable codes, nothing written on a
  refusal): the benefit's own figures (0 < percent < 100, amounts > 0, steps increasing in
  threshold and amount), the window (end after start), the level (a shop promotion has its
  merchant, a platform one none; free shipping and gifts only for shops; a platform
  promotion is platform-funded), the scope (a shop promotion: products of its own shop,
  categories its shop sells in, else 400 `scope_not_own_shop`; a gift SKU of the same
  shop), the limits (> 0);
- settings change only in draft or rejected; a shop promotion asking for a platform share
  goes to operations' approval (`promotion_publish` → pending approval), which records who
  approved and when; every other one is activated directly;
- every change is one transaction with its audit entry; state changes go through
  `marketplace.transitions.transition` and the table beside the model.
"""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import (
    category_descendant_ids,
    granted_categories,
    product_list_for_merchant,
    sku_list_for_merchant,
)
from marketplace.audit import audit_record
from marketplace.money import quantize
from marketplace.transitions import transition

from ..choices import EDITABLE_STATES, SHOP_ONLY_BENEFITS, BenefitType, PromotionLevel, PromotionStatus, ScopeKind
from ..errors import PromotionConflict, PromotionError
from ..models import TRANSITIONS, Promotion, PromotionStep
from ..pagecache import promotion_pages_invalidate
from ..selectors import live_index_forget

#: The settings a merchant (portal) or operations (admin) may give a promotion; `steps`,
#: `product_ids` and `category_ids` are lists beside them.
PROMOTION_FIELDS = (
    "name",
    "description",
    "channel",
    "starts_at",
    "ends_at",
    "priority",
    "min_spend",
    "min_quantity",
    "scope",
    "benefit_type",
    "percent",
    "amount",
    "gift_sku_id",
    "platform_share",
    "budget_amount",
    "max_uses",
    "per_buyer_limit",
)
_MONEY_FIELDS = ("min_spend", "amount", "budget_amount")
_COUNT_FIELDS = ("min_quantity", "max_uses", "per_buyer_limit")

SHOP_SCOPES = frozenset({ScopeKind.SHOP, ScopeKind.PRODUCTS, ScopeKind.CATEGORIES})
PLATFORM_SCOPES = frozenset({ScopeKind.PLATFORM, ScopeKind.PRODUCTS, ScopeKind.CATEGORIES})


def _money(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = quantize(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise PromotionError("invalid_amount", _("Enter amounts in yuan, e.g. 20.00."), {"field": field}) from exc
    if amount <= 0:
        raise PromotionError("invalid_amount", _("Amounts must be above zero."), {"field": field})
    return amount


def _count(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PromotionError("invalid_limit", _("Limits are whole numbers from 1."), {"field": field})
    try:
        number = int(value)
    except ValueError as exc:
        raise PromotionError("invalid_limit", _("Limits are whole numbers from 1."), {"field": field}) from exc
    if number < 1:
        raise PromotionError("invalid_limit", _("Limits are whole numbers from 1."), {"field": field})
    return number


def _clean(data: dict, *, level: str, merchant) -> tuple[dict, list[tuple[Decimal, Decimal]], list[int], list[int]]:
    """The promotion's fields, steps, product ids and category ids, checked; or a
    `PromotionError` with a stable code."""
    fields = {name: data.get(name) for name in PROMOTION_FIELDS}
    fields["name"] = (fields["name"] or "").strip()
    fields["description"] = (fields["description"] or "").strip()
    if not fields["name"]:
        raise PromotionError("name_required", _("Give the promotion a name."))
    for name in _MONEY_FIELDS:
        fields[name] = _money(fields[name], name)
    for name in _COUNT_FIELDS:
        fields[name] = _count(fields[name], name)
    fields["priority"] = int(fields["priority"] or 0)
    fields["channel"] = fields["channel"] or "automatic"
    if fields["channel"] not in ("automatic", "coupon"):
        raise PromotionError("invalid_channel", _("Choose how the promotion is given."))

    starts_at, ends_at = fields["starts_at"], fields["ends_at"]
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise PromotionError("invalid_window", _("The promotion must end after it starts."))

    if level == PromotionLevel.SHOP and merchant is None:
        raise PromotionError("merchant_required", _("A shop promotion belongs to a shop."))
    if level == PromotionLevel.PLATFORM and merchant is not None:
        raise PromotionError("invalid_level", _("A platform promotion belongs to no shop."))

    try:
        share = Decimal(str(fields["platform_share"] if fields["platform_share"] not in (None, "") else "0"))
    except InvalidOperation as exc:
        raise PromotionError("invalid_platform_share", _("The platform share is between 0 and 1.")) from exc
    if not Decimal(0) <= share <= Decimal(1) or share != share.quantize(Decimal("0.0001")):
        raise PromotionError("invalid_platform_share", _("The platform share is between 0 and 1."))
    if level == PromotionLevel.PLATFORM and share != 1:
        raise PromotionError("invalid_platform_share", _("A platform promotion is paid by the platform (share 1)."))
    fields["platform_share"] = share

    benefit = fields["benefit_type"]
    if benefit not in BenefitType.values:
        raise PromotionError("invalid_benefit", _("Choose what the promotion gives."))
    if benefit in SHOP_ONLY_BENEFITS and level != PromotionLevel.SHOP:
        raise PromotionError("benefit_shop_only", _("Free shipping and gifts are for shop promotions only."))
    if benefit == BenefitType.FREE_SHIPPING and share != 0:
        raise PromotionError("invalid_platform_share", _("Free shipping is paid by the merchant."))
    steps = _steps(data.get("steps") or []) if benefit == BenefitType.SPEND_AND_SAVE else []
    if benefit == BenefitType.PERCENTAGE:
        try:
            percent = Decimal(str(fields["percent"]))
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise PromotionError("invalid_percent", _("The percentage is between 0 and 100.")) from exc
        if not 0 < percent < 100 or percent != percent.quantize(Decimal("0.01")):
            raise PromotionError("invalid_percent", _("The percentage is between 0 and 100."))
        fields["percent"] = percent
    else:
        fields["percent"] = None
    if benefit == BenefitType.FIXED_AMOUNT:
        if fields["amount"] is None:
            raise PromotionError("invalid_amount", _("Amounts must be above zero."), {"field": "amount"})
    else:
        fields["amount"] = None
    if benefit == BenefitType.GIFT_SKU:
        gift_id = fields["gift_sku_id"]
        if not gift_id or not sku_list_for_merchant(merchant).filter(pk=gift_id, is_active=True).exists():
            raise PromotionError("invalid_gift", _("Choose an active SKU of your shop as the gift."))
    else:
        fields["gift_sku_id"] = None

    scope = fields["scope"]
    allowed = SHOP_SCOPES if level == PromotionLevel.SHOP else PLATFORM_SCOPES
    if scope not in allowed:
        raise PromotionError("invalid_scope", _("Choose what the promotion applies to."))
    product_ids = sorted({int(pk) for pk in data.get("product_ids") or []})
    category_ids = sorted({int(pk) for pk in data.get("category_ids") or []})
    if scope == ScopeKind.PRODUCTS:
        if not product_ids:
            raise PromotionError("scope_empty", _("Choose at least one product."))
        products = product_list_for_merchant(merchant) if merchant is not None else None
        if products is not None:
            found = set(products.filter(pk__in=product_ids).values_list("pk", flat=True))
            if found != set(product_ids):
                raise PromotionError(
                    "scope_not_own_shop",
                    _("A shop promotion covers only its own shop's products."),
                    {"products": sorted(set(product_ids) - found)},
                )
    else:
        product_ids = []
    if scope == ScopeKind.CATEGORIES:
        if not category_ids:
            raise PromotionError("scope_empty", _("Choose at least one category."))
        if merchant is not None:
            # The categories the shop sells in (its grants and all below them), as the portal
            # and the API offer: the rule is kept here, whoever calls.
            allowed = category_descendant_ids(granted_categories(merchant).values_list("pk", flat=True))
            outside = sorted(set(category_ids) - allowed)
            if outside:
                raise PromotionError(
                    "scope_not_own_shop",
                    _("A shop promotion covers only the categories its shop sells in."),
                    {"categories": outside},
                )
    else:
        category_ids = []
    return fields, steps, product_ids, category_ids


def _steps(raw) -> list[tuple[Decimal, Decimal]]:
    steps = []
    for item in raw:
        threshold, amount = (item["threshold"], item["amount"]) if isinstance(item, dict) else item
        steps.append((_money(threshold, "steps"), _money(amount, "steps")))
    if not steps:
        raise PromotionError("steps_required", _("Give at least one spend-and-save step."))
    steps.sort()
    for (low, low_amount), (high, high_amount) in itertools.pairwise(steps):
        if high <= low or high_amount <= low_amount:
            raise PromotionError(
                "steps_not_increasing", _("Each step needs a higher threshold and a larger amount than the one before.")
            )
    for threshold, amount in steps:
        if amount > threshold:
            raise PromotionError("step_exceeds_threshold", _("A step cannot give more than its threshold."))
    return steps


def _write_scope(promotion: Promotion, steps, product_ids, category_ids) -> None:
    promotion.steps.all().delete()
    PromotionStep.objects.bulk_create([PromotionStep(promotion=promotion, threshold=t, amount=a) for t, a in steps])
    promotion.products.set(product_ids)
    promotion.categories.set(category_ids)


@transaction.atomic
def promotion_create(*, actor, level: str, merchant=None, data: dict) -> Promotion:
    """Create a promotion in draft (shop: of `merchant`, by one of its members; platform: by
    operations). `data` holds PROMOTION_FIELDS, `steps` [(threshold, amount)], `product_ids`
    and `category_ids`. Refuses invalid settings with a stable code (module docstring) and
    writes nothing then; writes the audit entry."""
    fields, steps, product_ids, category_ids = _clean(data, level=level, merchant=merchant)
    promotion = Promotion.objects.create(level=level, merchant=merchant, created_by=actor, **fields)
    _write_scope(promotion, steps, product_ids, category_ids)
    audit_record(action="promotions.created", actor=actor, obj=promotion, data={"level": level})
    return promotion


@transaction.atomic
def promotion_update(*, promotion: Promotion, actor, data: dict) -> Promotion:
    """Change a draft or rejected promotion's settings (all of them, validated as on
    creation); 409 `promotion_not_editable` in any other state. Locks the row first."""
    locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
    if locked.status not in EDITABLE_STATES:
        raise PromotionConflict(
            "promotion_not_editable", _("Only a draft or rejected promotion can be edited."), {"status": locked.status}
        )
    fields, steps, product_ids, category_ids = _clean(data, level=locked.level, merchant=locked.merchant)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*fields, "updated_at"])
    _write_scope(locked, steps, product_ids, category_ids)
    audit_record(action="promotions.updated", actor=actor, obj=locked)
    return locked


def _move(promotion: Promotion, action: str, *, actor, changes=None, reason: str = "") -> Promotion:
    def record(row, previous):
        audit_record(action=f"promotions.{action}", actor=actor, obj=row, reason=reason, data={"from": previous})
        # It starts or stops showing to buyers: its cached pages are stale (after commit).
        if PromotionStatus.ACTIVE in (previous, row.status):
            promotion_pages_invalidate(row)

    moved = transition(promotion, action, table=TRANSITIONS, changes=changes, record=record)
    # Which shops have live promotions changed: checkouts must see it.
    live_index_forget()
    return moved


def needs_approval(promotion: Promotion) -> bool:
    """A shop promotion asking the platform to pay part of it waits for operations."""
    return promotion.level == PromotionLevel.SHOP and promotion.platform_share > 0


@transaction.atomic
def promotion_publish(*, promotion: Promotion, actor) -> Promotion:
    """Put a draft live: submitted for approval when it is a shop promotion with a platform
    share (`promotion_submit`), activated otherwise (`promotion_activate`)."""
    if needs_approval(promotion):
        return promotion_submit(promotion=promotion, actor=actor)
    return promotion_activate(promotion=promotion, actor=actor)


@transaction.atomic
def promotion_submit(*, promotion: Promotion, actor) -> Promotion:
    """Ask operations to approve the platform share (draft or rejected → pending approval);
    400 `approval_not_needed` for a promotion without a platform share."""
    if not needs_approval(promotion):
        raise PromotionError("approval_not_needed", _("Only a shop promotion with a platform share needs approval."))
    return _move(promotion, "submit", actor=actor, changes={"status_reason": ""})


@transaction.atomic
def promotion_activate(*, promotion: Promotion, actor) -> Promotion:
    """Activate a draft that needs no approval; 409 `approval_required` for one that does."""
    if needs_approval(promotion):
        raise PromotionConflict("approval_required", _("Operations must approve the platform share before it starts."))
    return _move(promotion, "activate", actor=actor)


@transaction.atomic
def promotion_approve(*, promotion: Promotion, actor) -> Promotion:
    """Operations approve the platform share: active, with who approved and when."""
    return _move(promotion, "approve", actor=actor, changes={"approved_by": actor, "approved_at": timezone.now()})


@transaction.atomic
def promotion_reject(*, promotion: Promotion, actor, reason: str) -> Promotion:
    """Operations refuse the platform share, with a reason the merchant reads; the merchant
    may edit the promotion and submit it again."""
    reason = (reason or "").strip()
    if not reason:
        raise PromotionError("reason_required", _("Say why the platform share is refused."))
    return _move(promotion, "reject", actor=actor, changes={"status_reason": reason}, reason=reason)


@transaction.atomic
def promotion_pause(*, promotion: Promotion, actor) -> Promotion:
    """Stop an active promotion for now (carts stop getting it at once)."""
    return _move(promotion, "pause", actor=actor)


@transaction.atomic
def promotion_resume(*, promotion: Promotion, actor) -> Promotion:
    """Resume a paused promotion (within its window it applies again)."""
    return _move(promotion, "resume", actor=actor)


@transaction.atomic
def promotion_end(*, promotion: Promotion, actor) -> Promotion:
    """End an active or paused promotion for good (orders already placed keep it)."""
    return _move(promotion, "end", actor=actor)
