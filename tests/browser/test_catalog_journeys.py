"""Browse and search the storefront in a real browser: category tree, filters, sorting, the
product page and the header search (Chinese and English)."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from catalog.filters import ProductFilter
from catalog.models import Product, Stock
from tests.catalog.factories import live_merchant, product, warehouse
from tests.merchants.factories import category as make_category


def _titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".listing-results .product-title").all_inner_texts()]


def _stock(sku, quantity: int, where) -> None:
    catalog_services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=where, quantity=quantity, actor=None)


def test_browse_a_category_filter_sort_open_a_product_and_search(page: Page):
    lighting = make_category("Lighting")
    desk_lamps = make_category("Desk lamps", parent=lighting)
    kitchen = make_category("Kitchen")
    merchant, _ = live_merchant(categories=[lighting, kitchen])
    where = warehouse(region="east")

    led = product(merchant, desk_lamps, title="LED 护眼台灯", price="129.00")
    brass = product(
        merchant,
        desk_lamps,
        title="Brass desk lamp",
        skus=[
            {"code": "BRASS-WHITE", "price": "89.50", "attributes": {"colour": "white"}},
            {"code": "BRASS-BLACK", "price": "99.00", "attributes": {"colour": "black"}},
        ],
    )
    reading = product(merchant, desk_lamps, title="Reading lamp", price="99.00")  # never stocked
    ceiling = product(merchant, lighting, title="Ceiling light", price="299.00")  # in the parent itself
    wok = product(merchant, kitchen, title="Iron wok", price="120.00")  # another branch of the tree
    draft = product(merchant, desk_lamps, title="Prototype 台灯 lamp", price="100.00", publish=False)
    for sku in [led.skus.get(), *brass.skus.all(), ceiling.skus.get(), wok.skus.get(), draft.skus.get()]:
        _stock(sku, 20, where)

    # Home: the category tree, parent with its child.
    page.goto("/")
    tiles = page.locator(".category-tiles")
    expect(tiles.get_by_role("link", name="Desk lamps", exact=True)).to_be_visible()
    tiles.get_by_role("link", name="Lighting", exact=True).click()

    # The parent's page lists its own and its child's products (descendants), nothing else.
    expect(page.get_by_role("heading", level=1)).to_have_text("Lighting")
    expect(page.get_by_role("list", name="Subcategories").get_by_role("link")).to_have_text(["Desk lamps"])
    expect(page.locator(".result-count")).to_have_text("4 products")
    assert sorted(_titles(page)) == ["Brass desk lamp", "Ceiling light", "LED 护眼台灯", "Reading lamp"]
    expect(page.locator(".product-card", has_text="Reading lamp").get_by_text("Out of stock")).to_be_visible()

    # Price range 80–200, in stock only, cheapest first.
    page.get_by_label("Lowest price").fill("80")
    page.get_by_label("Highest price").fill("200")
    page.get_by_label("In stock only").check()
    page.get_by_label("Sort by").select_option(label="Price: low to high")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".result-count")).to_have_text("2 products")
    assert _titles(page) == ["Brass desk lamp", "LED 护眼台灯"]
    assert re.search(r"price_min=80.*price_max=200.*in_stock=1.*ordering=price", page.url), page.url
    # The filters stay filled in, and the other direction reverses the list.
    expect(page.get_by_label("In stock only")).to_be_checked()
    expect(page.get_by_label("Lowest price")).to_have_value("80")
    page.get_by_label("Sort by").select_option(label="Price: high to low")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".listing-results .product-title")).to_have_text(["LED 护眼台灯", "Brass desk lamp"])

    # The product page: prices, and the SKU picker with one radio per option.
    page.get_by_role("link", name="Brass desk lamp").click()
    expect(page).to_have_url(re.compile(rf"/p/{brass.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Brass desk lamp")
    expect(page.locator(".product-price-range")).to_have_text("¥89.50 – ¥99.00")
    picker = page.get_by_role("group", name="Choose an option")
    white = picker.get_by_role("radio", name=re.compile(r"colour: white"))
    black = picker.get_by_role("radio", name=re.compile(r"colour: black"))
    expect(white).to_be_checked()
    expect(black).not_to_be_checked()
    expect(picker.locator(".sku-option", has_text="colour: white")).to_contain_text("¥89.50")
    expect(picker.locator(".sku-option", has_text="colour: black")).to_contain_text("¥99.00")
    expect(picker.locator(".sku-option", has_text="colour: black")).to_contain_text("In stock")
    black.check()
    expect(black).to_be_checked()
    expect(page.get_by_label("Quantity")).to_have_value("1")

    # Header search, Chinese: the bigram index finds 台灯 inside 护眼台灯; the draft never shows.
    page.get_by_role("searchbox", name="Search products").fill("台灯")
    page.get_by_role("searchbox", name="Search products").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “台灯”")
    expect(page.locator(".result-count")).to_have_text("1 product")
    assert _titles(page) == ["LED 护眼台灯"]

    # English, another case than the title's.
    page.get_by_role("searchbox", name="Search products").fill("CEILING")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “CEILING”")
    assert _titles(page) == ["Ceiling light"]

    # "lamp" matches the lamps by title and by their category; still not the draft.
    page.get_by_role("searchbox", name="Search products").fill("lamp")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("3 products")
    assert sorted(_titles(page)) == ["Brass desk lamp", "LED 护眼台灯", "Reading lamp"]

    # The unpublished product has no page either.
    response = page.goto(f"/p/{draft.pk}/")
    assert response is not None and response.status == 404

    # The database agrees with what the pages showed.
    assert Product.objects.get(pk=draft.pk).status == "draft"
    assert not Product.objects.get(pk=draft.pk).is_published
    assert Stock.objects.filter(sku__product=reading).count() == 0
    assert {s.sku.code: (s.on_hand, s.reserved) for s in Stock.objects.filter(sku__product=brass)} == {
        "BRASS-WHITE": (20, 0),
        "BRASS-BLACK": (20, 0),
    }
    assert Product.objects.get(pk=brass.pk).min_price == Decimal("89.50")
    expected = ProductFilter(
        {"category": str(lighting.pk), "price_min": "80", "price_max": "200", "in_stock": "1", "ordering": "price"}
    ).qs
    assert [p.pk for p in expected] == [brass.pk, led.pk]
