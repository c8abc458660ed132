"""The public shop page (products, filters, sorting, rating, promotions) and a buyer's review
shown on the product page, in a real browser."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from orders import services as order_services
from orders.models import Review
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import pay, place
from tests.promotions.pages_factories import shop_promotion


def _titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".listing-results .product-title").all_inner_texts()]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_shop_page_lists_the_shops_products_and_filters_them(page: Page):
    shop, (cat,) = live_merchant()
    other, (other_cat,) = live_merchant()
    where = warehouse(region="east")
    for title, price in (("Desk lamp", "199.00"), ("Floor lamp", "350.00"), ("Bulb", "9.90")):
        item = product(shop, cat, title=title, price=price)
        if title != "Floor lamp":  # never stocked
            sku = item.skus.get()
            catalog_services.stock_receive(merchant=shop, sku=sku, warehouse=where, quantity=5, actor=None)
    product(other, other_cat, title="Other shop's mug", price="20.00")
    shop_promotion(shop, live=True, name="Lamp week")

    page.goto(f"/p/{shop.products.get(title='Desk lamp').pk}/")
    page.locator(".shop-link").get_by_role("link", name=shop.display_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(shop.display_name)
    expect(page.locator(".result-count")).to_have_text("3 products")
    assert _titles(page) == ["Bulb", "Floor lamp", "Desk lamp"]
    expect(page.locator(".promo-banners")).to_contain_text("Lamp week")
    expect(page.locator(".shop-rating")).to_have_text("No reviews yet")

    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".result-count")).to_have_text("3 products")
    assert _titles(page) == ["Bulb", "Desk lamp", "Floor lamp"]
    page.get_by_label("In stock only").check()
    page.get_by_label("Lowest price").fill("100")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".result-count")).to_have_text("1 product")
    assert _titles(page) == ["Desk lamp"]
    assert "/shops/" in page.url


def test_a_buyer_writes_a_review_and_it_is_shown_on_the_product_page(page: Page, log_in):
    shop, (cat,) = live_merchant()
    lamp = product(shop, cat, title="Desk lamp", price="32.00")
    sku = lamp.skus.get()
    catalog_services.stock_receive(merchant=shop, sku=sku, warehouse=warehouse(region="east"), quantity=5, actor=None)
    buyer = UserFactory(first_name="伟", last_name="王")
    address_for(buyer)
    order = pay(place(buyer, (sku, 1)))
    part = order.merchant_orders.get()
    order_services.merchant_order_ship(order=part, merchant=shop, actor=shop.owner, carrier="SF", tracking_number="SF1")
    part.refresh_from_db()
    order_services.merchant_order_confirm_receipt(order=part, actor=buyer)

    log_in(page, buyer.email, next_url=f"/orders/{order.number}/")
    page.get_by_role("link", name="Write a review").click()
    page.get_by_role("radio", name="★★★★", exact=True).check()
    page.get_by_label("Your review (optional)").fill("Warm light, sturdy base.")
    page.get_by_label("Photos").set_input_files([{"name": "lamp.png", "mimeType": "image/png", "buffer": _png()}])
    page.get_by_role("button", name="Publish the review").click()
    expect(page.locator(".messages")).to_contain_text("Thank you for your review.")

    page.goto(f"/p/{lamp.pk}/")
    reviews = page.locator(".product-reviews")
    expect(reviews.locator(".review-text")).to_have_text("Warm light, sturdy base.")
    expect(reviews.get_by_label("4 stars")).to_have_text("★★★★")
    expect(page.locator(".product-info .product-rating")).to_have_text("★ 4.0 (1 review)")
    photo = reviews.locator(".review-photos img")
    expect(photo).to_have_count(1)
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    review = Review.objects.get()
    assert (review.rating, review.text, review.product_id, review.photos.count()) == (
        4,
        "Warm light, sturdy base.",
        lamp.pk,
        1,
    )
    # The shop page shows the shop's rating now.
    page.goto(f"/shops/{shop.slug}/")
    expect(page.locator(".shop-rating")).to_have_text("★ 4.0 (1 review)")
