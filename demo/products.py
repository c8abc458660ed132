"""Demo products for `make run`: a few hundred products of the live demo merchants with
SKUs, pictures, stock, sales and every moderation state.

Everything goes through the catalog services (product_create, product_image_add,
product_submit, product_approve, stock_receive, stock_reserve, stock_ship, …) so the data
obeys the same rules as production data. Idempotent: a product is known by its first SKU
code and only created when missing; each product draws from its own seeded random
generator, so what is created does not depend on what already exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model

from catalog import selectors, services
from catalog.models import SKU, Category, Product, Tag, Warehouse
from catalog.services import StockLine
from demo.catalog import CITY_CLOUDS, SHOPS, DemoShop, merchant_warehouse_code
from demo.pictures import PICTURES_PER_CATEGORY, picture_upload
from demo.product_lines import LINES, ProductLine
from merchants.choices import MerchantStatus
from merchants.models import Merchant

PRODUCTS_PER_SHOP = 75
# What happens to particular products after they are created (everything else is published).
FATES = {
    ("merchant1@demo.local", 10): "revision",
    ("merchant1@demo.local", 73): "submitted",
    ("merchant1@demo.local", 74): "submitted",
    ("merchant2@demo.local", 73): "submitted",
    ("merchant2@demo.local", 74): "rejected",
    ("merchant3@demo.local", 72): "submitted",
    ("merchant3@demo.local", 73): "submitted",
    ("merchant3@demo.local", 74): "withdrawn",
    ("merchant4@demo.local", 73): "submitted",
    ("merchant4@demo.local", 74): "draft",
}
CLOSING = (
    "全国多仓发货，下单后最快3小时送达。",
    "支持7天无理由退货。",
    "官方正品，提供正规发票。",
    "如有任何问题，欢迎联系在线客服。",
)


def _ean13(number: int) -> str:
    digits = f"69{number:010d}"[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    # Prices as shops set them: ending in 9 (¥199.00) or 9.90 (¥59.90).
    base = rng.randint(low, high)
    if base >= 100:
        return Decimal(base // 10 * 10 + 9)
    return Decimal(f"{base}.90")


def _variants(rng: random.Random, line: ProductLine) -> list[dict[str, str]]:
    """1 to 4 distinct attribute combinations."""
    (first_name, first_values), *rest = line.attributes
    combos = [{first_name: v} for v in first_values]
    if rest:
        second_name, second_values = rest[0]
        combos = [{**c, second_name: v} for c in combos for v in second_values]
    count = min(len(combos), rng.choice((1, 2, 2, 2, 3, 4)))
    picked = sorted(rng.sample(range(len(combos)), count))
    return [combos[i] for i in picked]


@dataclass
class _Context:
    reviewer: object
    tags: dict[str, int]
    categories: dict[str, Category]
    platform: dict[str, Warehouse]


def _listing(rng: random.Random, shop: DemoShop, line: ProductLine) -> tuple[str, str, list[str]]:
    """Title, description and tag slugs of a product, as a shop would write them."""
    brand = rng.choice(shop.brands)
    noun = rng.choice(line.nouns)
    features = rng.sample(line.features, 2)
    title = f"{brand} {noun} {features[0]} {features[1]}"
    points = rng.sample(line.points, 2)
    description = "\n".join([f"{brand}{noun}，{features[0]}，{features[1]}。", *points, rng.choice(CLOSING)])
    tag_slugs = rng.sample(line.tags, rng.randint(1, 3))
    return title, description, tag_slugs


def _sku_rows(rng: random.Random, shop: DemoShop, line: ProductLine, n: int) -> tuple[list[dict], bool]:
    """The SKUs of a product (1 to 4 variants) and whether it is a low-stock product."""
    base = _price(rng, *line.price)
    low_stock = rng.random() < 0.1
    skus = []
    for k, attributes in enumerate(_variants(rng, line), start=1):
        skus.append(
            {
                "code": f"{shop.prefix}-{n:03d}-{k}",
                "attributes": attributes,
                # Bigger sizes and better versions cost a little more.
                "price": base + Decimal(10 * (k - 1)) * (1 if base < 1000 else 10),
                "barcode": _ean13(SHOPS.index(shop) * 10_000_000 + n * 10 + k),
                "weight_grams": rng.randint(*line.weight),
                "reorder_point": rng.randint(12, 20) if low_stock else rng.randint(5, 10),
                "lead_time_days": rng.choice((3, 5, 7, 10, 14)),
                "safety_stock": rng.randint(15, 30) if low_stock else rng.randint(5, 15),
            }
        )
    return skus, low_stock


def _stock_up(ctx: _Context, rng: random.Random, merchant, own_warehouse, skus, *, low_stock: bool) -> dict:
    """Receive stock: the merchant's own warehouse, the east China hub, sometimes a city cloud
    warehouse. Returns the levels per (sku, warehouse), so choosing where orders ship from
    costs no queries."""
    clouds = [ctx.platform[code] for code, *_rest in CITY_CLOUDS]
    levels: dict[tuple[int, int], int] = {}

    def receive(sku, warehouse, quantity):
        services.stock_receive(
            merchant=merchant,
            sku=sku,
            warehouse=warehouse,
            quantity=quantity,
            actor=merchant.owner,
            reference=f"PO-{sku.code}",
            reason="采购入库",
        )
        levels[sku.pk, warehouse.pk] = levels.get((sku.pk, warehouse.pk), 0) + quantity

    for sku in skus:
        receive(sku, own_warehouse, rng.randint(3, 8) if low_stock else rng.randint(30, 200))
        if not low_stock and rng.random() < 0.5:
            receive(sku, ctx.platform["RC-EAST"], rng.randint(50, 300))
        if not low_stock and rng.random() < 0.25:
            receive(sku, rng.choice(clouds), rng.randint(20, 80))
    return levels


def _moderate(ctx: _Context, product: Product, owner, fate: str) -> bool:
    """Submit and review the product as its fate says; True when it ends up published."""
    if fate == "draft":
        return False
    services.product_submit(product=product, actor=owner)
    if fate == "submitted":
        return False
    if fate == "rejected":
        services.product_reject(
            product=product, actor=ctx.reviewer, reason="主图含有外部联系方式水印，请更换图片后重新提交。"
        )
        return False
    services.product_approve(product=product, actor=ctx.reviewer)
    return True


def _sell(rng: random.Random, shop: DemoShop, n: int, skus, levels: dict, *, low_stock: bool) -> None:
    """Sales of the last weeks (low-stock SKUs and a third of the others sell), so
    replenishment suggestions have a velocity: each order reserves at checkout, then ships
    from the warehouse holding the most; a few orders still wait for shipping."""
    selling = [sku for sku in skus if low_stock or rng.random() < 0.35]
    for order in range(rng.randint(1, 4) if selling else 0):
        lines = []
        for sku in selling:
            (_sku, warehouse_id), level = max(
                ((key, level) for key, level in levels.items() if key[0] == sku.pk), key=lambda item: item[1]
            )
            quantity = min(rng.randint(1, 4), level)
            if quantity > 0:
                lines.append(StockLine(sku_id=sku.pk, warehouse_id=warehouse_id, quantity=quantity))
                levels[sku.pk, warehouse_id] -= quantity
        if not lines:
            break
        reference = f"DEMO-ORDER-{shop.prefix}-{n:03d}-{order}"
        services.stock_reserve(lines=lines, reference=reference)
        if rng.random() < 0.9:
            services.stock_ship(lines=lines, reference=reference)


def _restock(rng: random.Random, merchant, own_warehouse, skus) -> None:
    """The shop already restocked: its alerts are closed (the alert history shows both)."""
    for sku in skus:
        services.stock_receive(
            merchant=merchant,
            sku=sku,
            warehouse=own_warehouse,
            quantity=rng.randint(40, 80),
            actor=merchant.owner,
            reference=f"PO-{sku.code}-R",
            reason="补货入库",
        )


def _revise(
    ctx: _Context, product: Product, owner, slug: str, pictures: list[int], title: str, description: str
) -> None:
    """The merchant edits the published listing: buyers keep seeing the approved version."""
    services.product_update(
        product=product,
        actor=owner,
        title=f"{title} 升级款",
        description=f"{description}\n升级款：用料更扎实，细节全面优化。",
        tag_ids=sorted({*product.tags.values_list("pk", flat=True), ctx.tags["new"]}),
    )
    spare = next(v for v in range(PICTURES_PER_CATEGORY) if v not in pictures)
    services.product_image_add(product=product, actor=owner, uploaded=picture_upload(slug, spare))
    first = product.images.filter(is_live=True).order_by("position", "id").first()
    if first is not None:
        services.product_image_remove(image=first, actor=owner)


def _create_product(ctx: _Context, shop: DemoShop, merchant, own_warehouse, n: int, fate: str) -> Product:
    """One product of a shop, taken from creation through stock and sales to its fate."""
    owner = merchant.owner
    rng = random.Random(f"{shop.email}:{n}")  # noqa: S311 (demo data, not secrets)
    slug = shop.categories[n % len(shop.categories)]
    line = LINES[slug]
    title, description, tag_slugs = _listing(rng, shop, line)
    skus, low_stock = _sku_rows(rng, shop, line, n)
    product = services.product_create(
        merchant=merchant,
        actor=owner,
        title=title,
        category=ctx.categories[slug],
        description=description,
        tag_ids=[ctx.tags[s] for s in tag_slugs if s in ctx.tags],
        skus=skus,
    )

    # The edited product shows a picture added and one removed, so it needs two to start with.
    pictures = rng.sample(range(PICTURES_PER_CATEGORY), rng.randint(2 if fate == "revision" else 1, 3))
    if fate != "draft":
        for variant in pictures:
            services.product_image_add(product=product, actor=owner, uploaded=picture_upload(slug, variant))

    created_skus = list(SKU.objects.filter(product=product).order_by("id"))
    levels = _stock_up(ctx, rng, merchant, own_warehouse, created_skus, low_stock=low_stock)
    if not _moderate(ctx, product, owner, fate):
        return product
    _sell(rng, shop, n, created_skus, levels, low_stock=low_stock)
    if low_stock and rng.random() < 0.3:
        _restock(rng, merchant, own_warehouse, created_skus)
    if fate == "withdrawn":
        services.product_withdraw(product=product, actor=owner)
    elif fate == "revision":
        _revise(ctx, product, owner, slug, pictures, title, description)
    return product


def _grant_categories(merchant, slugs, categories: dict[str, Category], actor) -> None:
    """Grant the categories the shop's products use (unless a granted parent covers them)."""
    granted = set(selectors.granted_categories(merchant).values_list("pk", flat=True))
    missing = {categories[s].pk for s in slugs if not selectors.merchant_may_sell_in(merchant, categories[s])}
    if missing:
        services.category_grants_set(merchant=merchant, category_ids=sorted(granted | missing), actor=actor)


def seed_products(stdout) -> int:
    """About 300 products of the 4 live demo merchants, with stock and moderation states."""
    reviewer = get_user_model().objects.get(email="reviewer@demo.local")
    ctx = _Context(
        reviewer=reviewer,
        tags=dict(Tag.objects.values_list("slug", "pk")),
        categories={c.slug: c for c in Category.objects.all()},
        platform={w.code: w for w in Warehouse.objects.filter(merchant__isnull=True)},
    )
    created = 0
    for shop in SHOPS:
        merchant = (
            Merchant.objects.filter(owner__email=shop.email, status=MerchantStatus.LIVE).select_related("owner").first()
        )
        if merchant is None:
            continue
        _grant_categories(merchant, shop.categories, ctx.categories, reviewer)
        own_warehouse = Warehouse.objects.get(code=merchant_warehouse_code(shop))
        existing = set(SKU.objects.filter(merchant=merchant).values_list("code", flat=True))
        for n in range(PRODUCTS_PER_SHOP):
            if f"{shop.prefix}-{n:03d}-1" in existing:
                continue
            _create_product(ctx, shop, merchant, own_warehouse, n, FATES.get((shop.email, n), "published"))
            created += 1
    return created
