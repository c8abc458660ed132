"""Reads of what buyers see of promotions: the storefront's banners, badges and promotion pages and
the public API (grade D shops never in platform promotions, grade A shops first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from catalog.selectors import category_descendant_ids, category_list, category_path, product_list_public
from marketplace.compiled import TIME_MARKER, CompiledRead

from ..choices import BenefitType, PromotionChannel, PromotionLevel, PromotionStatus, ScopeKind
from ..models import Promotion, PromotionStep

# --- What buyers see: storefront pages and the public API (issue #13, pages) ------------

#: Credit grades whose products never join platform promotions (domain.md "Merchants").
GRADES_EXCLUDED_FROM_PLATFORM = frozenset({"D"})
#: How many banners the home page shows at most.
HOME_BANNERS = 5


def _with_scope(queryset: QuerySet[Promotion]) -> QuerySet[Promotion]:
    return queryset.select_related("merchant", "gift_sku").prefetch_related(
        Prefetch("steps", queryset=PromotionStep.objects.order_by("threshold")), "products", "categories"
    )


def _shown(now=None, *, ends_after=None) -> QuerySet[Promotion]:
    # `ends_after` differs from `now` only in a compiled read's markers (each its own value).
    now = now or timezone.now()
    return Promotion.objects.filter(
        status=PromotionStatus.ACTIVE,
        channel=PromotionChannel.AUTOMATIC,
        starts_at__lte=now,
        ends_at__gt=now if ends_after is None else ends_after,
    ).filter(
        # An exhausted budget or use count: nothing left to give, so nothing to advertise.
        Q(budget_amount__isnull=True) | Q(budget_spent__lt=F("budget_amount")),
        Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")),
    )


def promotion_list_live(*, merchant_id: int | None = None, category_id: int | None = None) -> QuerySet[Promotion]:
    """Live promotions for buyers (public page and API), highest priority first. `merchant_id`
    keeps one shop's promotions; `category_id` those whose scope covers the category: chosen
    categories including it or a category above it, a whole shop or the whole platform."""
    promotions = _shown()
    if merchant_id is not None:
        promotions = promotions.filter(merchant_id=merchant_id)
    if category_id is not None:
        category = category_list(active_only=False).filter(pk=category_id).first()
        ancestors = [c.pk for c in category_path(category)] if category is not None else []
        promotions = promotions.filter(
            Q(scope__in=[ScopeKind.PLATFORM, ScopeKind.SHOP]) | Q(scope=ScopeKind.CATEGORIES, categories__in=ancestors)
        ).distinct()
    return _with_scope(promotions).order_by("-priority", "pk")


def promotion_get_live(promotion_id) -> Promotion | None:
    """A live promotion for its public page, or None (draft, paused, ended, another channel)."""
    return _with_scope(_shown().filter(pk=promotion_id)).first()


def _banners_home(*, now, ends_after) -> QuerySet[Promotion]:
    return (
        _shown(now, ends_after=ends_after)
        .filter(level=PromotionLevel.PLATFORM)
        .prefetch_related(Prefetch("steps", queryset=PromotionStep.objects.order_by("threshold")))
        .order_by("-priority", "pk")[:HOME_BANNERS]
    )


def _live_with_steps(*, now, ends_after) -> QuerySet[Promotion]:
    return (
        _shown(now, ends_after=ends_after)
        .prefetch_related(
            Prefetch("steps", queryset=PromotionStep.objects.order_by("threshold")),
            "categories",
        )
        .order_by("-priority", "pk")
    )


#: The storefront pages' reads of the live promotions, compiled once per process
#: (marketplace.compiled): only the time changes between calls, and building and compiling
#: the queryset cost more CPU than PostgreSQL spends running it (about 1 ms of a category
#: page). Their prefetches (steps, categories) run only when a promotion is live.
_BANNERS_HOME = CompiledRead(_banners_home)
_LIVE_WITH_STEPS = CompiledRead(_live_with_steps)
_NOW_MARKERS = {"now": TIME_MARKER, "ends_after": TIME_MARKER + timedelta(seconds=1)}


def _read_now(read: CompiledRead) -> list[Promotion]:
    now = timezone.now()
    return read.read(None, markers=_NOW_MARKERS, values={"now": now, "ends_after": now})


def promotion_banners_home() -> list[Promotion]:
    """The home page's banners: live platform promotions, highest priority first."""
    return _read_now(_BANNERS_HOME)


def promotion_banners_category(path, *, live: list[Promotion] | None = None) -> list[Promotion]:
    """A category page's banners (`path`: the category and those above it, as the page's
    breadcrumb has them): live platform-wide promotions and those whose chosen categories
    include one of them, highest priority first. Two queries; none with `live` (what
    `promotion_list_shown` returned for this page, which the page's badges read too)."""
    ids = {c.pk for c in path}
    if live is not None:
        # The same filter in Python over the page's one read of the live promotions: the
        # banners' own query compiled and ran the filter the badges had just run (1.6 ms a page).
        return [
            promotion
            for promotion in live
            if (promotion.level == PromotionLevel.PLATFORM and promotion.scope == ScopeKind.PLATFORM)
            or (promotion.scope == ScopeKind.CATEGORIES and any(c.pk in ids for c in promotion.categories.all()))
        ]
    return list(
        _shown()
        .filter(
            Q(level=PromotionLevel.PLATFORM, scope=ScopeKind.PLATFORM)
            | Q(scope=ScopeKind.CATEGORIES, categories__in=ids)
        )
        .distinct()
        .prefetch_related(Prefetch("steps", queryset=PromotionStep.objects.order_by("threshold")))
        .order_by("-priority", "pk")
    )


def promotion_products(promotion: Promotion) -> QuerySet:
    """The public products a promotion applies to, grade A shops' first (then the newest);
    grade D shops' products never join a platform promotion."""
    products = product_list_public()
    if promotion.level == PromotionLevel.SHOP:
        products = products.filter(merchant_id=promotion.merchant_id)
    else:
        products = products.exclude(merchant__credit_grade__in=GRADES_EXCLUDED_FROM_PLATFORM)
    if promotion.scope == ScopeKind.PRODUCTS:
        products = products.filter(pk__in=[p.pk for p in promotion.products.all()])
    elif promotion.scope == ScopeKind.CATEGORIES:
        categories = category_descendant_ids([c.pk for c in promotion.categories.all()])
        products = products.filter(category_id__in=categories)
    grade_a_first = Case(When(merchant__credit_grade="A", then=Value(0)), default=Value(1), output_field=IntegerField())
    return products.annotate(grade_rank=grade_a_first).order_by("grade_rank", "-published_at", "-pk")


# --- Badges: what a product card or page says about the promotions it is in --------------


@dataclass(frozen=True)
class Badge:
    """A short label of one live promotion on a product ("满200减20", "8.5折")."""

    promotion_id: int
    label: str
    level: str


def _number(value: Decimal) -> str:
    # 200.00 → "200", 8.50 → "8.5": badges are short.
    return format(value.normalize(), "f")


def promotion_label(promotion: Promotion) -> str:
    """The promotion's benefit in a few words, in the active language. Its steps come from
    the prefetch (`steps`); a benefit missing its figure (a form being filled in) is named by
    its type."""
    benefit = promotion.benefit_type
    if benefit == BenefitType.SPEND_AND_SAVE and promotion.pk:
        steps = [
            gettext("¥%(amount)s off orders from ¥%(threshold)s")
            % {"amount": _number(step.amount), "threshold": _number(step.threshold)}
            for step in promotion.steps.all()
        ]
        if steps:
            return " ".join(steps)
    if benefit == BenefitType.PERCENTAGE and promotion.percent is not None:
        tenths = (Decimal(100) - promotion.percent) / Decimal(10)
        return gettext("%(percent)s%% off (pay %(tenths)s/10)") % {
            "percent": _number(promotion.percent),
            "tenths": _number(tenths),
        }
    if benefit == BenefitType.FIXED_AMOUNT and promotion.amount is not None:
        return gettext("¥%(amount)s off") % {"amount": _number(promotion.amount)}
    if benefit == BenefitType.GIFT_SKU:
        return gettext("Free gift")
    if benefit == BenefitType.FREE_SHIPPING:
        return gettext("Free shipping")
    return str(promotion.get_benefit_type_display())


def promotion_list_shown() -> list[Promotion]:
    """Every promotion live for buyers now (automatic, within its window, budget and uses
    left), highest priority first, with its steps and chosen categories: what a page reads
    once for its badges and banners (`promotion_badges`, `promotion_banners_category`). One
    query, three when any is live."""
    return _read_now(_LIVE_WITH_STEPS)


def promotion_badges(products, *, live: list[Promotion] | None = None) -> dict[int, list[Badge]]:
    """Product id → the badges of the live promotions that apply to it, highest priority
    first. `products` need `merchant_id`, `category_id` and `merchant.credit_grade` loaded (the
    catalog's listing columns have them). At most five queries, whatever the number of
    products: the live promotions, their steps, the chosen products among these, the chosen
    categories and (only when a promotion chooses categories) the category tree; two fewer
    with `live`, the page's `promotion_list_shown()` read once for its banners and badges."""
    products = list(products)
    if not products:
        return {}
    ids = [p.pk for p in products]
    live = promotion_list_shown() if live is None else live
    if not live:
        return {}
    chosen: dict[int, set[int]] = {}
    chosen_rows = Promotion.products.through.objects.filter(
        promotion_id__in=[p.pk for p in live if p.scope == ScopeKind.PRODUCTS], product_id__in=ids
    ).values_list("promotion_id", "product_id")
    for promotion_id, product_id in chosen_rows:
        chosen.setdefault(promotion_id, set()).add(product_id)
    covered: dict[int, set[int]] = {}
    for promotion in live:
        if promotion.scope == ScopeKind.CATEGORIES:
            covered[promotion.pk] = category_descendant_ids([c.pk for c in promotion.categories.all()])
    badges: dict[int, list[Badge]] = {}
    for promotion in live:
        label = promotion_label(promotion)
        for product in products:
            if _applies(promotion, product, chosen.get(promotion.pk, ()), covered.get(promotion.pk, ())):
                badges.setdefault(product.pk, []).append(Badge(promotion.pk, label, promotion.level))
    return badges


def products_with_badges(products, *, live: list[Promotion] | None = None) -> list:
    """The products as a list, each with its badges (`promo_badges`), as `promotion_badges`
    reads them (a fixed number of queries; `live` as there)."""
    products = list(products)
    badges = promotion_badges(products, live=live)
    for product in products:
        product.promo_badges = badges.get(product.pk, [])
    return products


def _applies(promotion: Promotion, product, chosen: set[int], categories) -> bool:
    if promotion.level == PromotionLevel.SHOP:
        if product.merchant_id != promotion.merchant_id:
            return False
    elif product.merchant.credit_grade in GRADES_EXCLUDED_FROM_PLATFORM:
        return False
    if promotion.scope == ScopeKind.PRODUCTS:
        return product.pk in chosen
    if promotion.scope == ScopeKind.CATEGORIES:
        return product.category_id in categories
    return True


def promotion_pages(promotion: Promotion) -> tuple[list[int] | None, set[int]]:
    """Which cached pages show a promotion: (ids of the public products it covers, ids of
    its chosen categories and those below them), or (None, set()) for the whole platform
    (every page). Used to invalidate cached pages when it starts or stops showing."""
    if promotion.scope == ScopeKind.PLATFORM:
        return None, set()
    if promotion.scope == ScopeKind.PRODUCTS:
        return sorted(promotion.products.values_list("pk", flat=True)), set()
    # Only public products have pages to invalidate.
    products = product_list_public()
    if promotion.level == PromotionLevel.SHOP:
        products = products.filter(merchant_id=promotion.merchant_id)
    categories: set[int] = set()
    if promotion.scope == ScopeKind.CATEGORIES:
        categories = category_descendant_ids(promotion.categories.values_list("pk", flat=True))
        products = products.filter(category_id__in=categories)
    return sorted(products.values_list("pk", flat=True)), categories
