"""Demo catalog for `make run`: the category tree (with commission rates and their
changes), tags, platform and merchant warehouses, and the four live demo shops (SHOPS) whose
products demo/products.py creates. Categories, tags and warehouses have no service (staff
create them in the admin) and are created directly. Idempotent: every record has a natural
key (slug, code) and is only created when missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model

from catalog import services
from catalog.choices import WarehouseKind
from catalog.models import Category, Tag, TopBrand, Warehouse
from marketplace.regions import Region
from merchants.choices import MerchantStatus
from merchants.models import Merchant

# --- Categories ------------------------------------------------------------------------

# (slug, name, parent slug, rate or None to inherit, fresh, cross-border)
CATEGORIES = [
    ("home", "家居生活", None, "0.0800", False, False),
    ("kitchen", "厨房用品", "home", None, False, False),
    ("cookware", "锅具", "kitchen", None, False, False),
    ("tableware", "餐具", "kitchen", "0.0700", False, False),
    ("lighting", "灯具照明", "home", "0.1000", False, False),
    ("ceiling-lights", "吸顶灯", "lighting", None, False, False),
    ("desk-lamps", "台灯", "lighting", None, False, False),
    ("bedding", "床上用品", "home", None, False, False),
    ("storage", "收纳整理", "home", "0.0900", False, False),
    ("appliances", "家用电器", None, "0.0600", False, False),
    ("small-appliances", "小家电", "appliances", None, False, False),
    ("kitchen-appliances", "厨房小电", "small-appliances", None, False, False),
    ("personal-care", "个护电器", "small-appliances", "0.0800", False, False),
    ("large-appliances", "大家电", "appliances", "0.0500", False, False),
    ("fashion", "服饰鞋包", None, "0.1200", False, False),
    ("womens", "女装", "fashion", None, False, False),
    ("dresses", "连衣裙", "womens", None, False, False),
    ("womens-tops", "女士上衣", "womens", None, False, False),
    ("mens", "男装", "fashion", None, False, False),
    ("shirts", "衬衫", "mens", None, False, False),
    ("mens-trousers", "男裤", "mens", None, False, False),
    ("shoes", "鞋靴", "fashion", "0.1100", False, False),
    ("bags", "箱包", "fashion", None, False, False),
    ("food", "食品生鲜", None, "0.0700", True, False),
    ("fruit", "新鲜水果", "food", "0.0500", True, False),
    ("snacks", "休闲零食", "food", None, False, False),
    ("tea", "茶叶冲饮", "food", "0.0800", False, False),
    ("imported", "进口商品", None, "0.1000", False, True),
    ("imported-beauty", "进口美妆", "imported", "0.1500", False, True),
    ("skincare", "护肤", "imported-beauty", None, False, True),
    ("makeup", "彩妆", "imported-beauty", None, False, True),
    ("imported-food", "进口食品", "imported", None, False, True),
    ("baby", "母婴用品", "imported", "0.0800", False, True),
]

# Rate changes made by the platform admin after the tree was set up, through the service, so
# the admin shows a rate history (applied once, when the category is created).
RATE_CHANGES = [("lighting", "0.0900"), ("imported-beauty", "0.1300")]


def seed_categories(stdout) -> int:
    created = 0
    by_slug = {}
    new = set()
    for position, (slug, name, parent, rate, fresh, cross_border) in enumerate(CATEGORIES):
        category, was_created = Category.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "parent": by_slug.get(parent),
                "commission_rate": Decimal(rate) if rate else None,
                "is_fresh": fresh,
                "is_cross_border": cross_border,
                "position": position,
            },
        )
        by_slug[slug] = category
        created += was_created
        if was_created:
            new.add(slug)
    admin = get_user_model().objects.filter(email="admin@demo.local").first()
    for slug, rate in RATE_CHANGES:
        if slug in new and admin is not None:
            services.category_set_rate(category=by_slug[slug], rate=Decimal(rate), actor=admin)
    return created


# --- Tags ---------------------------------------------------------------------------------

TAGS = [
    ("new", "新品"),
    ("bestseller", "热销"),
    ("free-shipping", "包邮"),
    ("flash-deal", "限时特惠"),
    ("china-made", "国货精品"),
    ("imported", "原装进口"),
    ("organic", "有机"),
    ("eco", "环保材质"),
    ("smart", "智能"),
    ("energy-saving", "节能"),
    ("handmade", "手工制作"),
    ("gift-box", "礼盒装"),
    ("kids", "儿童适用"),
    ("plus-size", "大码"),
    ("portable", "轻薄便携"),
    ("baby-safe", "母婴可用"),
    ("gift", "送礼佳品"),
    ("seasonal", "当季新款"),
    ("quality", "品质保障"),
    ("3h-delivery", "3小时达"),
]


def seed_tags(stdout) -> int:
    created = 0
    for slug, name in TAGS:
        _tag, was_created = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
        created += was_created
    return created


# --- Warehouses ---------------------------------------------------------------------------

# One regional central warehouse per region: (code, name, city).
REGIONAL = {
    Region.NORTH: ("RC-NORTH", "华北中心仓", "北京"),
    Region.NORTHEAST: ("RC-NORTHEAST", "东北中心仓", "沈阳"),
    Region.EAST: ("RC-EAST", "华东中心仓", "上海"),
    Region.CENTRAL: ("RC-CENTRAL", "华中中心仓", "武汉"),
    Region.SOUTH: ("RC-SOUTH", "华南中心仓", "广州"),
    Region.SOUTHWEST: ("RC-SOUTHWEST", "西南中心仓", "成都"),
    Region.NORTHWEST: ("RC-NORTHWEST", "西北中心仓", "西安"),
}
# City cloud warehouses for 3-hour delivery: (code, name, region, city).
CITY_CLOUDS = [
    ("CC-SHA", "上海云仓", Region.EAST, "上海"),
    ("CC-PEK", "北京云仓", Region.NORTH, "北京"),
    ("CC-CAN", "广州云仓", Region.SOUTH, "广州"),
    ("CC-SZX", "深圳云仓", Region.SOUTH, "深圳"),
    ("CC-HGH", "杭州云仓", Region.EAST, "杭州"),
    ("CC-CTU", "成都云仓", Region.SOUTHWEST, "成都"),
]


@dataclass(frozen=True)
class DemoShop:
    """A live demo merchant's catalog: SKU prefix, own warehouse, brands and categories."""

    email: str
    prefix: str
    city: str
    brands: tuple[str, ...]
    categories: tuple[str, ...]


SHOPS = [
    DemoShop(
        "merchant1@demo.local",
        "MLJJ",
        "杭州",
        ("明亮", "禾木家", "暖居"),
        ("cookware", "tableware", "ceiling-lights", "desk-lamps", "bedding", "storage"),
    ),
    DemoShop(
        "merchant2@demo.local",
        "SXF",
        "苏州",
        ("苏绣坊", "锦衣记", "云裳"),
        ("dresses", "womens-tops", "shirts", "mens-trousers", "shoes", "bags"),
    ),
    DemoShop(
        "merchant3@demo.local",
        "YXDQ",
        "上海",
        ("优选", "智享", "Q厨"),
        ("kitchen-appliances", "personal-care", "large-appliances"),
    ),
    DemoShop(
        "merchant4@demo.local",
        "HTQQ",
        "宁波",
        ("北欧之选", "Aurora", "澳洲牧场"),
        ("skincare", "makeup", "imported-food", "baby"),
    ),
]


def merchant_warehouse_code(shop: DemoShop) -> str:
    return f"MW-{shop.prefix}"


def seed_warehouses(stdout) -> int:
    created = 0
    for region, (code, name, city) in REGIONAL.items():
        _w, was_created = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "kind": WarehouseKind.REGIONAL_CENTRAL, "region": region, "city": city}
        )
        created += was_created
    for code, name, region, city in CITY_CLOUDS:
        _w, was_created = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "kind": WarehouseKind.CITY_CLOUD, "region": region, "city": city}
        )
        created += was_created
    for shop in SHOPS:
        merchant = Merchant.objects.filter(owner__email=shop.email, status=MerchantStatus.LIVE).first()
        if merchant is None:
            continue
        _w, was_created = Warehouse.objects.get_or_create(
            code=merchant_warehouse_code(shop),
            defaults={
                "name": f"{merchant.shop_name}{shop.city}自营仓",
                "kind": WarehouseKind.MERCHANT,
                "region": Region.EAST,
                "city": shop.city,
                "merchant": merchant,
            },
        )
        created += was_created
    return created


# --- TOP brands (the operations dashboard's brand coverage) ---------------------------------

#: Leading brands of the demo shops' categories that no demo shop sells yet: listed after the
#: shops' own brands, so each category's coverage is partial, as early in the growth phase.
ABSENT_BRANDS = {
    "merchant1@demo.local": ("宜家", "网易严选"),
    "merchant2@demo.local": ("太平鸟", "江南布衣"),
    "merchant3@demo.local": ("美的", "九阳"),
    "merchant4@demo.local": ("雅诗兰黛", "飞鹤"),
}


def seed_top_brands(stdout) -> int:
    """Each demo shop category's TOP brand list (its shop's brands, then brands absent from the
    platform), through the service, as operations keep it in the admin; returns how many were
    created. Idempotent: a category that has a list keeps it."""
    created = 0
    for shop in SHOPS:
        for slug in shop.categories:
            category = Category.objects.filter(slug=slug).first()
            if category is None or TopBrand.objects.filter(category=category).exists():
                continue
            for rank, name in enumerate([*shop.brands, *ABSENT_BRANDS[shop.email]], start=1):
                services.top_brand_create(actor=None, category=category, name=name, rank=rank)
                created += 1
    return created
