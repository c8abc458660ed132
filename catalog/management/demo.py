"""Demo category tree (the catalog issue extends it with products and stock)."""

from decimal import Decimal

from catalog.models import Category

# (slug, name, parent slug, rate or None to inherit, fresh, cross-border)
CATEGORIES = [
    ("home", "家居生活", None, "0.0800", False, False),
    ("kitchen", "厨房用品", "home", None, False, False),
    ("lighting", "灯具照明", "home", "0.1000", False, False),
    ("appliances", "家用电器", None, "0.0600", False, False),
    ("small-appliances", "小家电", "appliances", None, False, False),
    ("fashion", "服饰鞋包", None, "0.1200", False, False),
    ("womens", "女装", "fashion", None, False, False),
    ("mens", "男装", "fashion", None, False, False),
    ("food", "食品生鲜", None, "0.0700", True, False),
    ("fruit", "新鲜水果", "food", "0.0500", True, False),
    ("imported", "进口商品", None, "0.1000", False, True),
    ("imported-beauty", "进口美妆", "imported", "0.1500", False, True),
]


def seed_categories(stdout) -> int:
    created = 0
    by_slug = {}
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
    return created
