"""Merchant portal pages of the catalog: products, SKUs, pictures, stock, CSV import, alerts."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services
from catalog.errors import CatalogError
from catalog.models import SKU, Product, ProductImage, ProductRevision, Stock, StockAlert, StockMovement, Tag
from catalog.services import StockLine
from merchants.models import MerchantMember
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory, no_decoding, png_bomb
from tests.merchants.factories import category

pytestmark = pytest.mark.django_db

BASE = "/portal/catalog/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _login(client, user):
    client.force_login(user)
    return client


def _sku_formset(*skus, total=None) -> dict:
    data = {
        "skus-TOTAL_FORMS": str(total or len(skus)),
        "skus-INITIAL_FORMS": "0",
        "skus-MIN_NUM_FORMS": "1",
        "skus-MAX_NUM_FORMS": "50",
    }
    for i, sku in enumerate(skus):
        row = {
            "code": "",
            "attributes": "",
            "price": "",
            "barcode": "",
            "weight_grams": "0",
            "reorder_point": "0",
            "lead_time_days": "7",
            "safety_stock": "0",
        }
        row.update(sku)
        data.update({f"skus-{i}-{name}": value for name, value in row.items()})
    return data


def _stock_state(merchant) -> list[tuple]:
    """Every level and movement of the merchant: what a refused change must leave as it was."""
    levels = sorted(
        Stock.objects.filter(sku__merchant=merchant).values_list("sku__code", "warehouse__code", "on_hand", "reserved")
    )
    return [levels, StockMovement.objects.filter(stock__sku__merchant=merchant).count()]


def make_tag(name):
    return Tag.objects.create(name=name, slug=name.lower())


@pytest.fixture
def shop():
    merchant, [cat] = live_merchant()
    return merchant, cat


# --- Access ------------------------------------------------------------------------------


def _urls(item, sku, image, level) -> list[str]:
    return [
        BASE + "products/",
        BASE + "products/new/",
        f"{BASE}products/{item.pk}/",
        f"{BASE}products/{item.pk}/skus/new/",
        f"{BASE}products/{item.pk}/skus/{sku.pk}/",
        f"{BASE}images/{image.pk}/small/",
        BASE + "stock/",
        f"{BASE}stock/{level.pk}/",
        BASE + "stock/import/",
        BASE + "alerts/",
    ]


@pytest.fixture
def catalog_rows(shop):
    merchant, cat = shop
    item = product(merchant, cat)
    sku = item.skus.get()
    wh = warehouse()
    level = services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=5, actor=merchant.owner)
    return merchant, item, sku, item.images.get(), level


def test_anonymous_users_are_sent_to_log_in(client, catalog_rows):
    _merchant, item, sku, image, level = catalog_rows
    for url in _urls(item, sku, image, level):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


@pytest.mark.parametrize("role", ["owner", "catalog"])
def test_owner_and_catalog_members_see_every_page(client, catalog_rows, role):
    merchant, item, sku, image, level = catalog_rows
    user = merchant.owner if role == "owner" else _member(merchant, role)
    _login(client, user)
    for url in _urls(item, sku, image, level):
        assert client.get(url).status_code == 200, url
    menu = client.get(BASE + "products/", **EN).context["menu"]
    assert [(m["label"], m["url"], m["active"]) for m in menu if m["url"].startswith(BASE)] == [
        ("Products", "/portal/catalog/products/", True),
        ("Stock", "/portal/catalog/stock/", False),
        ("Stock alerts", "/portal/catalog/alerts/", False),
    ]


@pytest.mark.parametrize("who", ["buyer", "staff", "finance", "orders"])
def test_other_users_and_roles_get_404(client, catalog_rows, who):
    merchant, item, sku, image, level = catalog_rows
    user = {
        "buyer": lambda: UserFactory(),
        "staff": lambda: UserFactory(is_staff=True),
        "finance": lambda: _member(merchant, "finance"),
        "orders": lambda: _member(merchant, "orders"),
    }[who]()
    _login(client, user)
    for url in _urls(item, sku, image, level):
        assert client.get(url).status_code == 404, url
    before = _stock_state(merchant)
    wh = level.warehouse
    assert (
        client.post(
            BASE + "stock/receive/", {"receipt-sku_code": sku.code, "receipt-warehouse": wh.pk, "receipt-quantity": "3"}
        ).status_code
        == 404
    )
    assert client.post(f"{BASE}products/{item.pk}/withdraw/").status_code == 404
    assert _stock_state(merchant) == before
    assert Product.objects.get(pk=item.pk).withdrawn_at is None


def test_a_finance_member_has_no_catalog_menu(client, shop):
    merchant, _cat = shop
    _login(client, _member(merchant, "finance"))
    menu = client.get("/portal/", **EN).context["menu"]
    assert [m["label"] for m in menu] == ["Dashboard", "Deposit", "Bank account", "Credit rating", "Statements"]


def test_another_merchants_ids_answer_404_and_nothing_changes(client, catalog_rows):
    merchant, item, sku, image, level = catalog_rows
    intruder, _cats = live_merchant()
    _login(client, intruder.owner)
    for url in _urls(item, sku, image, level):
        if str(item.pk) in url or "/images/" in url or f"stock/{level.pk}/" in url:
            assert client.get(url).status_code == 404, url
    before = (_stock_state(merchant), Product.objects.filter(pk=item.pk).values().get(), ProductImage.objects.count())
    posts = [
        (f"{BASE}products/{item.pk}/", {"title": "Hacked", "category": item.category_id}),
        (f"{BASE}products/{item.pk}/submit/", {}),
        (f"{BASE}products/{item.pk}/withdraw/", {}),
        (f"{BASE}products/{item.pk}/images/", {"image": image_upload(color=(1, 2, 3))}),
        (f"{BASE}products/{item.pk}/images/{image.pk}/remove/", {}),
        (f"{BASE}products/{item.pk}/skus/new/", {"code": "X", "price": "1.00"}),
        (f"{BASE}products/{item.pk}/skus/{sku.pk}/", {"code": "X", "price": "1.00"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    # The intruder's own stock forms do not find the victim's SKU code either.
    response = client.post(
        BASE + "stock/receive/",
        {"receipt-sku_code": sku.code, "receipt-warehouse": level.warehouse_id, "receipt-quantity": "3"},
        **EN,
    )
    assert response.status_code == 400
    assert f"You have no SKU with the code “{sku.code}”." in response.content.decode()
    after = (_stock_state(merchant), Product.objects.filter(pk=item.pk).values().get(), ProductImage.objects.count())
    assert after == before


# --- Product list --------------------------------------------------------------------------


def test_product_list_shows_and_filters_the_merchants_products(client, shop):
    merchant, cat = shop
    child = category("Desk lamps", parent=cat)
    lamp = product(
        merchant,
        child,
        title="Reading lamp",
        skus=[{"code": "RL-1", "price": "89.00"}, {"code": "RL-2", "price": "79.50"}],
    )
    product(merchant, cat, title="Floor lamp", publish=False, skus=[{"code": "FL-1", "price": "300.00"}])
    services.product_update(product=lamp, actor=merchant.owner, title="Reading lamp v2")
    other, _cats = live_merchant()
    product(other, _cats[0], title="Lamp of another shop")
    _login(client, merchant.owner)

    page = client.get(BASE + "products/", **EN).context["page"]
    rows = [(p.title, p.status, p.min_price, p.sku_count, p.pending_revision, p.is_published) for p in page]
    # Newest change first: an edit waiting for review does not touch the product itself.
    assert rows == [
        ("Floor lamp", "draft", Decimal("300.00"), 1, False, False),
        ("Reading lamp", "approved", Decimal("79.50"), 2, True, True),
    ]
    html = client.get(BASE + "products/", **EN).content.decode()
    assert "Edit waiting for review" in html
    assert "¥79.50" in html

    def titles(query):
        return [p.title for p in client.get(BASE + "products/", query).context["page"]]

    assert titles({"status": "draft"}) == ["Floor lamp"]
    assert titles({"q": "READING"}) == ["Reading lamp"]
    assert titles({"pending": "yes"}) == ["Reading lamp"]
    assert titles({"pending": "no"}) == ["Floor lamp"]
    assert titles({"category": str(child.pk)}) == ["Reading lamp"]
    assert titles({"category": str(cat.pk)}) == ["Floor lamp", "Reading lamp"]  # subcategories included


def test_product_list_paginates_and_keeps_filters(client, shop, settings):
    merchant, cat = shop
    for i in range(27):
        product(merchant, cat, title=f"Lamp {i:02d}", publish=False)
    _login(client, merchant.owner)
    response = client.get(BASE + "products/", {"q": "Lamp"}, **EN)
    assert len(response.context["page"].object_list) == 25
    assert 'href="?q=Lamp&amp;page=2"' in response.content.decode()
    second = client.get(BASE + "products/", {"q": "Lamp", "page": "2"})
    assert len(second.context["page"].object_list) == 2


def test_empty_states(client, shop):
    merchant, _cat = shop
    _login(client, merchant.owner)
    assert "You have no products yet." in client.get(BASE + "products/", **EN).content.decode()
    assert "No product matches these filters." in client.get(BASE + "products/?q=zzz", **EN).content.decode()
    assert "No stock yet." in client.get(BASE + "stock/", **EN).content.decode()
    html = client.get(BASE + "alerts/", **EN).content.decode()
    assert "No open alerts" in html
    assert "Nothing to replenish" in html


# --- Creating and editing products ------------------------------------------------------------


def test_create_a_product_with_skus_in_a_granted_subcategory(client, shop):
    merchant, cat = shop
    child = category("Desk lamps", parent=cat)
    tag = make_tag("LED")
    _login(client, merchant.owner)
    form = client.get(BASE + "products/new/").context["form"]
    assert {pk for pk, _label in form.fields["category"].choices if pk} == {cat.pk, child.pk}
    data = {"title": " Reading lamp ", "category": child.pk, "description": "Warm light", "tags": [tag.pk]}
    data.update(
        _sku_formset(
            {"code": "RL-W-M", "attributes": "colour=white; size=M", "price": "89.90", "barcode": "6901234567892"},
            {
                "code": "RL-B",
                "attributes": "colour：black",
                "price": "79.00",
                "reorder_point": "5",
                "safety_stock": "2",
            },
            {},
            total=3,
        )
    )
    response = client.post(BASE + "products/new/", data)
    assert response.status_code == 302
    item = Product.objects.get(merchant=merchant)
    assert response["Location"] == f"/portal/catalog/products/{item.pk}/"
    assert (item.title, item.category_id, item.description, item.status, item.min_price) == (
        "Reading lamp",
        child.pk,
        "Warm light",
        "draft",
        Decimal("79.00"),
    )
    assert list(item.tags.values_list("name", flat=True)) == ["LED"]
    skus = list(
        item.skus.order_by("code").values_list(
            "code", "attributes", "price", "barcode", "reorder_point", "safety_stock", "lead_time_days"
        )
    )
    assert skus == [
        ("RL-B", {"colour": "black"}, Decimal("79.00"), "", 5, 2, 7),
        ("RL-W-M", {"colour": "white", "size": "M"}, Decimal("89.90"), "6901234567892", 0, 0, 7),
    ]


def test_a_category_outside_the_grants_is_refused(client, shop):
    merchant, _cat = shop
    foreign = category("Jewellery")
    _login(client, merchant.owner)
    data = {"title": "Ring", "category": foreign.pk, **_sku_formset({"code": "R-1", "price": "10.00"})}
    response = client.post(BASE + "products/new/", data, **EN)
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert Product.objects.count() == 0
    # The service refuses it too, whatever the form offered.
    with pytest.raises(CatalogError) as caught:
        services.product_create(merchant=merchant, actor=merchant.owner, title="Ring", category=foreign)
    assert caught.value.code == "category_not_granted"
    assert Product.objects.count() == 0


def test_a_sku_needs_code_and_price_and_codes_are_unique(client, shop):
    merchant, cat = shop
    product(merchant, cat, skus=[{"code": "TAKEN", "price": "5.00"}], publish=False)
    _login(client, merchant.owner)
    before = (Product.objects.count(), SKU.objects.count())

    response = client.post(BASE + "products/new/", {"title": "Lamp", "category": cat.pk, **_sku_formset({})}, **EN)
    assert response.status_code == 400
    assert "Please submit at least 1 form." in response.content.decode()

    data = {"title": "Lamp", "category": cat.pk, **_sku_formset({"code": "TAKEN", "price": "9.00"})}
    response = client.post(BASE + "products/new/", data, **EN)
    assert response.status_code == 400
    assert "You already have a SKU with the code “TAKEN”." in response.content.decode()

    data = {
        "title": "Lamp",
        "category": cat.pk,
        **_sku_formset({"code": "A", "price": "1"}, {"code": "A", "price": "2"}),
    }
    response = client.post(BASE + "products/new/", data, **EN)
    assert response.status_code == 400
    assert "This code is used by another SKU above." in response.content.decode()

    data = {"title": "Lamp", "category": cat.pk, **_sku_formset({"code": "B", "price": "1", "attributes": "colour"})}
    response = client.post(BASE + "products/new/", data, **EN)
    assert response.status_code == 400
    assert "“colour” is not a name=value pair." in response.content.decode()
    assert (Product.objects.count(), SKU.objects.count()) == before


def test_editing_a_draft_applies_at_once(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, title="Lamp", publish=False)
    _login(client, merchant.owner)
    response = client.post(
        f"{BASE}products/{item.pk}/", {"title": "Desk lamp", "category": cat.pk, "description": "New"}, **EN
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.description) == ("Desk lamp", "New")
    assert ProductRevision.objects.filter(product=item).count() == 0


def test_editing_a_published_product_waits_for_review(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, title="Desk lamp")
    _login(client, merchant.owner)
    response = client.post(
        f"{BASE}products/{item.pk}/",
        {"title": "Desk lamp PRO", "category": cat.pk, "description": ""},
        follow=True,
        **EN,
    )
    assert (
        "Your changes wait for review; buyers keep seeing the approved version until then." in response.content.decode()
    )
    item.refresh_from_db()
    assert item.title == "Desk lamp"  # what buyers see stays
    revision = ProductRevision.objects.get(product=item)
    assert (revision.status, revision.title, revision.submitted_by) == ("pending", "Desk lamp PRO", merchant.owner)
    # The form now starts from the pending edit, and the page says an edit waits.
    page = client.get(f"{BASE}products/{item.pk}/", **EN)
    assert page.context["form"].initial["title"] == "Desk lamp PRO"
    assert "is waiting for review" in page.content.decode()
    # Saving without a change does not touch the revision.
    submitted_at = revision.submitted_at
    response = client.post(
        f"{BASE}products/{item.pk}/",
        {"title": "Desk lamp PRO", "category": cat.pk, "description": ""},
        follow=True,
        **EN,
    )
    assert "Nothing was changed." in response.content.decode()
    assert ProductRevision.objects.get(pk=revision.pk).submitted_at == submitted_at


def test_the_review_note_of_a_rejected_listing_and_revision_is_shown(client, shop, staff_user):
    merchant, cat = shop
    item = product(merchant, cat, publish=False)
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload())
    services.product_submit(product=item, actor=merchant.owner)
    services.product_reject(product=item, actor=staff_user, reason="Picture is blurry")
    _login(client, merchant.owner)
    html = client.get(f"{BASE}products/{item.pk}/", **EN).content.decode()
    assert "The reviewer did not approve this listing:" in html
    assert "Picture is blurry" in html

    published = product(merchant, cat, title="Lamp")
    services.product_update(product=published, actor=merchant.owner, title="Best lamp ever!!!")
    services.revision_reject(revision=published.revisions.get(), actor=staff_user, reason="No superlatives")
    html = client.get(f"{BASE}products/{published.pk}/", **EN).content.decode()
    assert "Your last change was not approved:" in html
    assert "No superlatives" in html


def test_submit_needs_a_picture_then_withdraw(client, shop, staff_user):
    merchant, cat = shop
    item = product(merchant, cat, publish=False)
    _login(client, merchant.owner)
    response = client.post(f"{BASE}products/{item.pk}/submit/", follow=True, **EN)
    assert "Add at least one active SKU and one picture before submitting." in response.content.decode()
    assert Product.objects.get(pk=item.pk).status == "draft"

    response = client.post(f"{BASE}products/{item.pk}/images/", {"image": image_upload()})
    assert response.status_code == 302
    response = client.post(f"{BASE}products/{item.pk}/submit/")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "submitted"
    services.product_approve(product=item, actor=staff_user)

    response = client.post(f"{BASE}products/{item.pk}/withdraw/", follow=True, **EN)
    assert "The product is off sale." in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.is_published, item.withdrawn_at is not None) == ("draft", False, True)


# --- SKUs ----------------------------------------------------------------------------------


def test_add_and_edit_a_sku(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, skus=[{"code": "L-1", "price": "50.00"}], publish=False)
    _login(client, merchant.owner)
    response = client.post(
        f"{BASE}products/{item.pk}/skus/new/",
        {
            "code": "L-2",
            "attributes": "size=XL",
            "price": "40.00",
            "weight_grams": "800",
            "reorder_point": "3",
            "lead_time_days": "5",
            "safety_stock": "1",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.min_price == Decimal("40.00")

    sku = SKU.objects.get(code="L-2")
    form = client.get(f"{BASE}products/{item.pk}/skus/{sku.pk}/").context["form"]
    assert form.initial["attributes"] == "size=XL"
    response = client.post(
        f"{BASE}products/{item.pk}/skus/{sku.pk}/",
        {
            "code": "L-2",
            "attributes": "size=XL",
            "price": "60.00",
            "weight_grams": "800",
            "reorder_point": "3",
            "lead_time_days": "5",
            "safety_stock": "1",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    item.refresh_from_db()
    assert (sku.price, sku.weight_grams, sku.is_active, item.min_price) == (
        Decimal("60.00"),
        800,
        True,
        Decimal("50.00"),
    )

    # Renaming onto an existing code is refused; nothing changes.
    response = client.post(
        f"{BASE}products/{item.pk}/skus/{sku.pk}/",
        {
            "code": "L-1",
            "price": "60.00",
            "weight_grams": "0",
            "reorder_point": "0",
            "lead_time_days": "7",
            "safety_stock": "0",
        },
        **EN,
    )
    assert response.status_code == 400
    assert "You already have a SKU with the code “L-1”." in response.content.decode()
    assert SKU.objects.get(pk=sku.pk).code == "L-2"


def test_a_sku_of_another_product_is_not_found_under_this_one(client, shop):
    merchant, cat = shop
    first = product(merchant, cat, publish=False)
    second = product(merchant, cat, publish=False)
    _login(client, merchant.owner)
    assert client.get(f"{BASE}products/{first.pk}/skus/{second.skus.get().pk}/").status_code == 404


# --- Pictures ------------------------------------------------------------------------------


def test_pictures_bad_files_and_duplicates_are_refused(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, publish=False)
    _login(client, merchant.owner)
    response = client.post(f"{BASE}products/{item.pk}/images/", {"image": image_upload(color=(9, 9, 9))})
    assert response.status_code == 302
    image = item.images.get()
    assert (image.is_live, image.width, image.height) == (False, 64, 48)

    fake = SimpleUploadedFile("x.png", b"MZ\x90\x00not a picture", content_type="image/png")
    response = client.post(f"{BASE}products/{item.pk}/images/", {"image": fake}, **EN)
    assert response.status_code == 400
    assert "Product pictures must be PNG or JPEG images." in response.content.decode()

    response = client.post(f"{BASE}products/{item.pk}/images/", {"image": image_upload(color=(9, 9, 9))}, **EN)
    assert response.status_code == 400
    assert "This picture is already on the product." in response.content.decode()
    assert list(item.images.values_list("pk", flat=True)) == [image.pk]

    # The merchant sees its own picture that buyers cannot see yet.
    response = client.get(f"{BASE}images/{image.pk}/small/")
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert client.get(f"{BASE}images/{image.pk}/huge/").status_code == 404

    response = client.post(f"{BASE}products/{item.pk}/images/{image.pk}/remove/")
    assert response.status_code == 302
    assert item.images.count() == 0


def test_a_12000_by_12000_picture_is_refused_before_it_is_decoded(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, publish=False)
    _login(client, merchant.owner)
    bomb = SimpleUploadedFile("huge.png", png_bomb(), content_type="image/png")
    with no_decoding() as load:
        response = client.post(f"{BASE}products/{item.pk}/images/", {"image": bomb}, **EN)
    assert response.status_code == 400
    assert "The image is larger than 40 megapixels. Scale it down and upload it again." in response.content.decode()
    assert item.images.count() == 0
    assert ProductImage.objects.count() == 0
    assert load.call_count == 0


def test_a_large_jpeg_picture_is_decoded_reduced_and_stored_at_1600_pixels(shop):
    import io

    from PIL import Image, JpegImagePlugin

    merchant, cat = shop
    item = product(merchant, cat, publish=False)
    buffer = io.BytesIO()
    Image.new("RGB", (6400, 4800), (20, 30, 40)).save(buffer, format="JPEG")
    decoded = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = draft(self, mode, size)
        decoded.append((size, self.size))
        return result

    with mock.patch.object(JpegImagePlugin.JpegImageFile, "draft", spy):
        image = services.product_image_add(
            product=item, actor=merchant.owner, uploaded=SimpleUploadedFile("big.jpg", buffer.getvalue())
        )
    # Decoded at 1/2 scale (3200 × 2400: a quarter of the pixels), then resized to fit.
    assert decoded[0] == ((1600, 1600), (3200, 2400))
    assert (image.width, image.height) == (1600, 1200)


def test_removing_a_live_picture_of_a_published_product_waits_for_review(client, shop):
    merchant, cat = shop
    item = product(merchant, cat)
    image = item.images.get()
    _login(client, merchant.owner)
    response = client.post(f"{BASE}products/{item.pk}/images/{image.pk}/remove/", follow=True, **EN)
    assert "The picture goes once a reviewer approves the change." in response.content.decode()
    assert ProductImage.objects.get(pk=image.pk).is_live is True
    assert ProductRevision.objects.get(product=item).image_ids == []
    assert "Removal waiting for review" in client.get(f"{BASE}products/{item.pk}/", **EN).content.decode()


# --- Stock ---------------------------------------------------------------------------------


@pytest.fixture
def stocked(shop):
    merchant, cat = shop
    item = product(merchant, cat, skus=[{"code": "LAMP-W", "price": "99.00", "reorder_point": 10}])
    return merchant, item.skus.get(), warehouse(code="WH-EAST"), warehouse(code="WH-SOUTH", region="south")


def test_receipt_and_adjustment_write_movements(client, stocked):
    merchant, sku, east, _south = stocked
    _login(client, merchant.owner)
    response = client.post(
        BASE + "stock/receive/",
        {
            "receipt-sku_code": " LAMP-W ",
            "receipt-warehouse": east.pk,
            "receipt-quantity": "40",
            "receipt-reference": "PO-1",
        },
        follow=True,
        **EN,
    )
    assert "Received 40 units of LAMP-W in WH-EAST: 40 on hand now." in response.content.decode()
    response = client.post(
        BASE + "stock/adjust/",
        {
            "adjust-sku_code": "LAMP-W",
            "adjust-warehouse": east.pk,
            "adjust-on_hand": "37",
            "adjust-reason": "Stocktake",
        },
        follow=True,
        **EN,
    )
    assert "LAMP-W in WH-EAST: 37 on hand, 37 available." in response.content.decode()
    level = Stock.objects.get(sku=sku, warehouse=east)
    assert (level.on_hand, level.reserved) == (37, 0)
    movements = list(
        level.movements.order_by("id").values_list(
            "kind", "on_hand_delta", "on_hand_after", "reference", "reason", "actor"
        )
    )
    assert movements == [
        ("receipt", 40, 40, "PO-1", "", merchant.owner.pk),
        ("adjustment", -3, 37, "", "Stocktake", merchant.owner.pk),
    ]
    page = client.get(BASE + "stock/", **EN)
    assert [(s.sku.code, s.warehouse.code, s.on_hand, s.reserved, s.available_units) for s in page.context["page"]] == [
        ("LAMP-W", "WH-EAST", 37, 0, 37)
    ]
    history = client.get(f"{BASE}stock/{level.pk}/", **EN)
    assert [m.kind for m in history.context["page"]] == ["adjustment", "receipt"]
    assert "Stocktake" in history.content.decode()


def test_adjusting_below_reserved_is_refused_and_nothing_changes(client, stocked):
    merchant, sku, east, _south = stocked
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=east, quantity=20, actor=merchant.owner)
    services.stock_reserve(lines=[StockLine(sku.pk, east.pk, 8)], reference="order-1")
    _login(client, merchant.owner)
    before = _stock_state(merchant)
    response = client.post(
        BASE + "stock/adjust/",
        {"adjust-sku_code": "LAMP-W", "adjust-warehouse": east.pk, "adjust-on_hand": "7", "adjust-reason": "Count"},
        **EN,
    )
    assert response.status_code == 400
    assert "8 units are reserved for orders; on hand cannot go below that." in response.content.decode()
    assert _stock_state(merchant) == before == [[("LAMP-W", east.code, 20, 8)], 2]


def test_stock_forms_refuse_bad_input(client, stocked):
    merchant, _sku, east, _south = stocked
    other, _cats = live_merchant()
    foreign = warehouse(merchant=other, code="THEIRS")
    _login(client, merchant.owner)
    before = _stock_state(merchant)
    response = client.post(
        BASE + "stock/receive/",
        {"receipt-sku_code": "LAMP-W", "receipt-warehouse": foreign.pk, "receipt-quantity": "0"},
        **EN,
    )
    assert response.status_code == 400
    errors = response.context["receipt_form"].errors
    assert set(errors) == {"warehouse", "quantity"}
    response = client.post(
        BASE + "stock/adjust/",
        {"adjust-sku_code": "LAMP-W", "adjust-warehouse": east.pk, "adjust-on_hand": "-1", "adjust-reason": ""},
    )
    assert set(response.context["adjust_form"].errors) == {"on_hand", "reason"}
    assert _stock_state(merchant) == before


def test_stock_filters(client, stocked):
    merchant, sku, east, south = stocked
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=east, quantity=50, actor=merchant.owner)
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=south, quantity=4, actor=merchant.owner)
    _login(client, merchant.owner)

    def rows(query):
        return [(s.warehouse.code, s.on_hand) for s in client.get(BASE + "stock/", query).context["page"]]

    assert rows({}) == [("WH-EAST", 50), ("WH-SOUTH", 4)]
    assert rows({"warehouse": south.pk}) == [("WH-SOUTH", 4)]
    assert rows({"low": "on"}) == [("WH-SOUTH", 4)]
    assert rows({"q": "lamp-w"}) == [("WH-EAST", 50), ("WH-SOUTH", 4)]
    assert rows({"q": "nothing"}) == []


# --- CSV import ----------------------------------------------------------------------------


def _upload(text: str, *, bom=False, name="stock.csv"):
    data = text.encode("utf-8")
    return SimpleUploadedFile(name, (b"\xef\xbb\xbf" if bom else b"") + data, content_type="text/csv")


@pytest.fixture
def import_setup(shop):
    merchant, cat = shop
    item = product(
        merchant,
        cat,
        skus=[
            {"code": "A-1", "price": "10.00", "reorder_point": 5},
            {"code": "B-2", "price": "12.00"},
            {"code": "C-3", "price": "14.00"},
        ],
    )
    east, south = warehouse(code="WH-E"), warehouse(code="WH-S", region="south")
    skus = {s.code: s for s in item.skus.all()}
    services.stock_receive(
        merchant=skus["A-1"].merchant, sku=skus["A-1"], warehouse=east, quantity=10, actor=merchant.owner
    )
    services.stock_receive(
        merchant=skus["B-2"].merchant, sku=skus["B-2"], warehouse=east, quantity=6, actor=merchant.owner
    )
    services.stock_reserve(lines=[StockLine(skus["B-2"].pk, east.pk, 4)], reference="order-9")
    return merchant, skus, east, south


def test_csv_import_applies_every_row_in_one_go(client, import_setup):
    merchant, _skus, _east, _south = import_setup
    _login(client, merchant.owner)
    csv_text = "sku_code,warehouse_code,on_hand\r\nA-1,WH-E,3\r\nB-2,WH-E,6\r\n\r\nC-3,WH-S,25\r\nA-1,WH-S,0\r\n"
    response = client.post(BASE + "stock/import/", {"file": _upload(csv_text, bom=True)}, **EN)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.rows, summary.received, summary.adjusted, summary.unchanged) == (4, 1, 1, 2)
    assert [(r["line"], r["sku"], r["before"], r["after"], r["outcome"]) for r in summary.lines] == [
        (2, "A-1", 10, 3, "adjusted"),
        (3, "B-2", 6, 6, "unchanged"),
        (5, "C-3", 0, 25, "received"),
        (6, "A-1", 0, 0, "unchanged"),
    ]
    assert _stock_state(merchant)[0] == [("A-1", "WH-E", 3, 0), ("B-2", "WH-E", 6, 4), ("C-3", "WH-S", 25, 0)]
    imported = StockMovement.objects.filter(reason="CSV import").order_by("id")
    assert list(imported.values_list("stock__sku__code", "kind", "on_hand_delta", "on_hand_after", "actor")) == [
        ("A-1", "adjustment", -7, 3, merchant.owner.pk),
        ("C-3", "receipt", 25, 25, merchant.owner.pk),
    ]
    # A-1 fell below its reorder point (5) in WH-E: the import raised the alert like any change.
    assert list(
        StockAlert.objects.filter(closed_at__isnull=True).values_list("stock__sku__code", "available_at_open")
    ) == [("A-1", 3)]


def test_csv_import_with_excel_semicolons_and_extra_columns(client, import_setup):
    merchant, _skus, _east, _south = import_setup
    _login(client, merchant.owner)
    csv_text = 'name;SKU_Code;warehouse_code;on_hand\n"Lamp; white";A-1;WH-E;12\n'
    response = client.post(BASE + "stock/import/", {"file": _upload(csv_text)}, **EN)
    assert response.status_code == 200
    assert Stock.objects.get(sku__code="A-1", warehouse__code="WH-E").on_hand == 12


def test_csv_import_with_one_bad_row_changes_nothing_and_lists_every_error(client, import_setup):
    merchant, _skus, _east, _south = import_setup
    other, _cats = live_merchant()
    warehouse(merchant=other, code="THEIRS")
    product(other, _cats[0], skus=[{"code": "OTHER-1", "price": "5.00"}])
    _login(client, merchant.owner)
    before = (_stock_state(merchant), StockMovement.objects.count(), StockAlert.objects.count())
    csv_text = "\n".join(
        [
            "sku_code,warehouse_code,on_hand",
            "A-1,WH-E,3",  # fine on its own
            "NOPE,WH-E,1",
            "OTHER-1,WH-E,1",  # another merchant's SKU
            "C-3,THEIRS,1",  # another merchant's warehouse
            "C-3,WH-X,1",
            "C-3,WH-S,2.5",
            "C-3,WH-E,-4",
            "B-2,WH-E,3",  # 4 reserved
            "A-1,WH-E,9",  # duplicate of line 2
            ",WH-S,",
        ]
    )
    response = client.post(BASE + "stock/import/", {"file": _upload(csv_text)}, **EN)
    assert response.status_code == 400
    errors = [(e["line"], e["code"]) for e in response.context["row_errors"]]
    assert errors == [
        (3, "unknown_sku"),
        (4, "unknown_sku"),
        (5, "unknown_warehouse"),
        (6, "unknown_warehouse"),
        (7, "invalid_on_hand"),
        (8, "negative_on_hand"),
        (9, "below_reserved"),
        (10, "duplicate_row"),
        (11, "sku_code_required"),
        (11, "invalid_on_hand"),
    ]
    html = response.content.decode()
    assert "Nothing was imported: 10 problem(s) found." in html
    assert "This SKU and warehouse are already on line 2." in html
    assert "4 units are reserved for orders; on hand cannot go below that." in html
    assert (_stock_state(merchant), StockMovement.objects.count(), StockAlert.objects.count()) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\xef\xbb\xbf \r\n", "The file is empty."),
        (b"sku_code,on_hand\nA-1,3\n", "missing: warehouse_code."),
        (b"sku_code,warehouse_code,on_hand\n", "The file has no rows below the column names."),
        ("sku_code,warehouse_code,on_hand\nÄ-1,WH-E,3\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b"sku_code,warehouse_code,on_hand\nA-1,WH-E,3\nB-2\x00,WH-E,1\n", "Line 3 could not be read as CSV."),
    ],
)
def test_csv_import_refuses_unreadable_files(client, import_setup, content, message):
    merchant, _skus, _east, _south = import_setup
    _login(client, merchant.owner)
    before = _stock_state(merchant)
    upload = SimpleUploadedFile("stock.csv", content, content_type="text/csv")
    response = client.post(BASE + "stock/import/", {"file": upload}, **EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _stock_state(merchant) == before


def test_csv_import_limits_size_and_rows(client, import_setup, monkeypatch):
    from catalog.services import imports

    merchant, _skus, _east, _south = import_setup
    _login(client, merchant.owner)
    before = _stock_state(merchant)
    big = "sku_code,warehouse_code,on_hand\n" + "A-1,WH-E,1\n" * 200_000
    response = client.post(BASE + "stock/import/", {"file": _upload(big)}, **EN)
    assert response.status_code == 400
    assert "The file is larger than 2 MB" in response.content.decode()

    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    rows = "sku_code,warehouse_code,on_hand\nA-1,WH-E,1\nB-2,WH-E,5\nC-3,WH-E,1\n"
    response = client.post(BASE + "stock/import/", {"file": _upload(rows)}, **EN)
    assert response.status_code == 400
    assert "The file has more than 2 rows" in response.content.decode()
    assert _stock_state(merchant) == before


def test_csv_import_refuses_the_file_when_an_order_reserves_after_the_check(import_setup):
    """The reserved units are checked again under the row locks (a reservation in between)."""
    from catalog.services import imports

    merchant, skus, east, _south = import_setup
    rows = imports.stock_import_read(b"sku_code,warehouse_code,on_hand\nA-1,WH-E,2\nC-3,WH-E,1\n")
    plan, errors = imports.stock_import_validate(merchant=merchant, rows=rows)
    assert errors == []
    services.stock_reserve(lines=[StockLine(skus["A-1"].pk, east.pk, 5)], reference="order-10")
    before = _stock_state(merchant)
    with pytest.raises(CatalogError) as caught:
        imports.stock_import_apply(plan=plan, merchant=merchant, actor=merchant.owner)
    assert caught.value.code == "import_invalid"
    assert [(e["line"], e["code"]) for e in caught.value.extra["errors"]] == [(2, "below_reserved")]
    assert _stock_state(merchant) == before


# --- Alerts and suggestions ----------------------------------------------------------------


def test_alerts_open_below_the_reorder_point_and_close_when_stock_recovers(client, stocked):
    merchant, sku, east, _south = stocked  # reorder point 10
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=east, quantity=12, actor=merchant.owner)
    _login(client, merchant.owner)
    assert list(client.get(BASE + "alerts/").context["page"]) == []

    services.stock_reserve(lines=[StockLine(sku.pk, east.pk, 3)], reference="order-1")  # available 9
    response = client.get(BASE + "alerts/", **EN)
    alerts = [
        (a.stock.sku.code, a.stock.warehouse.code, a.available_at_open, a.reorder_point)
        for a in response.context["page"]
    ]
    assert alerts == [("LAMP-W", "WH-EAST", 9, 10)]
    assert "No open alerts" not in response.content.decode()

    services.stock_receive(
        merchant=sku.merchant, sku=sku, warehouse=east, quantity=1, actor=merchant.owner
    )  # available 10
    assert list(client.get(BASE + "alerts/").context["page"]) == []
    alert = StockAlert.objects.get()
    assert alert.closed_at is not None


def test_replenishment_suggestions_are_exact(client, shop):
    merchant, cat = shop
    item = product(
        merchant,
        cat,
        skus=[
            {"code": "FAST", "price": "10.00", "lead_time_days": 7, "safety_stock": 5},
            {"code": "SLOW", "price": "10.00", "lead_time_days": 10, "safety_stock": 3},
            {"code": "IDLE", "price": "10.00", "lead_time_days": 7, "safety_stock": 0},
        ],
    )
    skus = {s.code: s for s in item.skus.all()}
    wh = warehouse()
    services.stock_receive(
        merchant=skus["FAST"].merchant, sku=skus["FAST"], warehouse=wh, quantity=60, actor=merchant.owner
    )
    services.stock_receive(
        merchant=skus["SLOW"].merchant, sku=skus["SLOW"], warehouse=wh, quantity=10, actor=merchant.owner
    )
    services.stock_receive(
        merchant=skus["IDLE"].merchant, sku=skus["IDLE"], warehouse=wh, quantity=8, actor=merchant.owner
    )
    fast, slow = StockLine(skus["FAST"].pk, wh.pk, 56), StockLine(skus["SLOW"].pk, wh.pk, 10)
    services.stock_reserve(lines=[fast, slow], reference="order-1")
    services.stock_ship(lines=[fast, slow], reference="order-1")
    _login(client, merchant.owner)

    # FAST: 56 shipped / 28 days = 2/day × 7 + 5 − 4 available = 15.
    # SLOW: 10 / 28 = 0.357/day × 10 + 3 − 0 = 6.57 → 7. IDLE: 0 + 0 − 8 → 0 (hidden).
    rows = client.get(BASE + "alerts/").context["suggestions"]
    assert [(r["sku"].code, r["units_sold"], r["daily_velocity"], r["available"], r["suggested"]) for r in rows] == [
        ("FAST", 56, 2.0, 4, 15),
        ("SLOW", 10, 0.36, 0, 7),
    ]
    every = client.get(BASE + "alerts/", {"all": "1"}).context["suggestions"]
    assert [(r["sku"].code, r["suggested"]) for r in every] == [("FAST", 15), ("SLOW", 7), ("IDLE", 0)]


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        # Beyond PostgreSQL's integer: answered 500 (integer out of range) before.
        ("receive", {"receipt-quantity": "99999999999999999999"}),
        ("receive", {"receipt-quantity": "2147483647"}),  # fits alone, not added to the 20 on hand
        ("adjust", {"adjust-on_hand": "2147483648", "adjust-reason": "Count"}),
    ],
)
def test_stock_beyond_what_its_column_holds_is_refused_and_nothing_changes(client, stocked, form, fields):
    merchant, sku, east, _south = stocked
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=east, quantity=20, actor=merchant.owner)
    _login(client, merchant.owner)
    before = _stock_state(merchant)
    prefix = "receipt" if form == "receive" else "adjust"
    response = client.post(
        f"{BASE}stock/{form}/", {f"{prefix}-sku_code": "LAMP-W", f"{prefix}-warehouse": east.pk, **fields}, **EN
    )
    assert response.status_code == 400
    assert _stock_state(merchant) == before == [[("LAMP-W", east.code, 20, 0)], 1]


def test_the_stock_services_refuse_on_hand_beyond_the_column(stocked):
    merchant, sku, east, _south = stocked
    services.stock_receive(merchant=merchant, sku=sku, warehouse=east, quantity=20, actor=merchant.owner)
    with pytest.raises(CatalogError) as error:
        services.stock_receive(merchant=merchant, sku=sku, warehouse=east, quantity=2**31 - 20, actor=merchant.owner)
    assert (error.value.code, error.value.extra) == ("quantity_too_large", {"max": 2**31 - 1})
    with pytest.raises(CatalogError) as error:
        services.stock_adjust(merchant=merchant, sku=sku, warehouse=east, on_hand=2**31, actor=None, reason="Count")
    assert error.value.code == "quantity_too_large"
    assert Stock.objects.get(sku=sku, warehouse=east).on_hand == 20
