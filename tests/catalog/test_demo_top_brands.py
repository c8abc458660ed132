"""The demo's TOP brand lists (demo.catalog.seed_top_brands): five brands for each category a
demo shop sells in (its own three, then two absent from the platform), once."""

from __future__ import annotations

import io

import pytest

from catalog.models import TopBrand
from demo.catalog import seed_categories, seed_top_brands

pytestmark = pytest.mark.django_db


def test_the_demo_lists_five_brands_per_shop_category_once():
    seed_categories(io.StringIO())
    assert seed_top_brands(io.StringIO()) == 95  # (6 + 6 + 3 + 4) categories × 5
    assert list(TopBrand.objects.filter(category__slug="cookware").values_list("rank", "name")) == [
        (1, "明亮"),
        (2, "禾木家"),
        (3, "暖居"),
        (4, "宜家"),
        (5, "网易严选"),
    ]
    assert seed_top_brands(io.StringIO()) == 0
    assert TopBrand.objects.count() == 95
