"""The merchant portal's promotion pages: who reaches them, the list and its figures, the forms
(every benefit type, spend-and-save steps, errors shown on their fields), and the commands."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from marketplace.models import AuditLogEntry
from merchants.models import MerchantMember
from orders import services as order_services
from orders.models import OrderLineDiscount
from orders.services import CheckoutItem
from promotions.models import Promotion, PromotionStep
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.pages_factories import shop_promotion, window

pytestmark = pytest.mark.django_db

BASE = "/portal/promotions/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _steps(*steps, total=4) -> dict:
    data = {
        "steps-TOTAL_FORMS": str(total),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "10",
    }
    for i, (threshold, amount) in enumerate(steps):
        data[f"steps-{i}-threshold"] = threshold
        data[f"steps-{i}-amount"] = amount
    return data


def _form(steps=(("200", "20"), ("300", "40")), **overrides) -> dict:
    starts, ends = window()
    data = {
        "name": "Double 12",
        "description": "",
        "channel": "automatic",
        "starts_at": timezone.localtime(starts).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": timezone.localtime(ends).strftime("%Y-%m-%dT%H:%M"),
        "priority": "0",
        "benefit_type": "spend_and_save",
        "scope": "shop",
        "platform_share_percent": "0",
        **_steps(*steps),
    }
    data.update(overrides)
    return data


def _errors(response) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", e).strip() for e in re.findall(r'<p class="error">(.*?)</p>', response.content.decode())
    ]


def _alerts(response) -> list[str]:
    blocks = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S)
    return [re.sub(r"<[^>]+>", "", p).strip() for block in blocks for p in re.findall(r"<p>(.*?)</p>", block)]


@pytest.fixture
def shop():
    merchant, categories = live_merchant()
    return merchant, categories[0]


# --- Who reaches the pages ---------------------------------------------------------------------


def test_only_the_owner_and_catalog_members_reach_the_pages(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant)
    other, _ = live_merchant()
    who = {
        "anonymous": None,
        "buyer": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "orders member": _member(merchant, "orders"),
        "finance member": _member(merchant, "finance"),
        "other merchant": other.owner,
        "catalog member": _member(merchant, "catalog"),
        "owner": merchant.owner,
    }
    answers = {}
    for name, user in who.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        answers[name] = (
            client.get(BASE, **EN).status_code,
            client.get(f"{BASE}{promotion.pk}/", **EN).status_code,
        )
    assert answers == {
        "anonymous": (302, 302),
        "buyer": (404, 404),
        "staff": (404, 404),
        "orders member": (404, 404),
        "finance member": (404, 404),
        "other merchant": (200, 404),
        "catalog member": (200, 200),
        "owner": (200, 200),
    }


@pytest.mark.parametrize("command", ["publish", "pause", "resume", "end"])
def test_another_merchant_cannot_act_on_a_promotion_nothing_changes(client, shop, command):
    merchant, _category = shop
    promotion = shop_promotion(merchant, live=command != "publish")
    other, _ = live_merchant()
    client.force_login(other.owner)
    before = list(Promotion.objects.values_list("pk", "status", "updated_at"))
    audit = AuditLogEntry.objects.count()
    response = client.post(f"{BASE}{promotion.pk}/{command}/", **EN)
    assert response.status_code == 404
    assert list(Promotion.objects.values_list("pk", "status", "updated_at")) == before
    assert AuditLogEntry.objects.count() == audit


def test_another_merchant_cannot_edit_a_promotion(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant)
    other, _ = live_merchant()
    client.force_login(other.owner)
    assert client.get(f"{BASE}{promotion.pk}/edit/", **EN).status_code == 404
    assert client.post(f"{BASE}{promotion.pk}/edit/", _form(name="Mine now"), **EN).status_code == 404
    promotion.refresh_from_db()
    assert promotion.name == "Spring sale"


def test_the_menu_has_promotions_for_the_owner_and_catalog_members_only(client, shop):
    merchant, _category = shop
    client.force_login(merchant.owner)
    assert 'href="/portal/promotions/"' in client.get("/portal/", **EN).content.decode()
    client.force_login(_member(merchant, "orders"))
    assert 'href="/portal/promotions/"' not in client.get("/portal/", **EN).content.decode()


# --- The list -----------------------------------------------------------------------------------


def test_empty_list_invites_to_create_one(client, shop):
    merchant, _category = shop
    client.force_login(merchant.owner)
    body = client.get(BASE, **EN).content.decode()
    assert "You have no promotions yet." in body
    body = client.get(BASE + "?status=paused", **EN).content.decode()
    assert "No promotion has this status." in body


def test_list_shows_status_dates_funding_budget_and_what_orders_got(client, shop):
    from promotions import services

    merchant, category = shop
    item = product(merchant, category, price="250.00")
    catalog_services.stock_receive(
        sku=item.skus.get(), warehouse=warehouse(), quantity=10, actor=merchant.owner, merchant=merchant
    )
    promotion = shop_promotion(
        merchant, live=True, budget_amount=Decimal("100.00"), max_uses=50, platform_share=Decimal("0.25")
    )
    services.promotion_approve(promotion=promotion, actor=UserFactory(is_staff=True))
    other_shop = shop_promotion(live_merchant()[0], live=True)  # not in this list
    buyer = UserFactory()
    address = address_for(buyer)
    # Three orders of 250.00 get the ≥200 step (−20.00: 15.00 the shop's, 5.00 the platform's).
    orders = [
        order_services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(item.skus.get().pk, 1)])
        for _ in range(3)
    ]
    assert [(d.merchant_part, d.platform_part) for d in OrderLineDiscount.objects.filter(promotion=promotion)] == [
        (Decimal("15.00"), Decimal("5.00"))
    ] * 3
    # A cancelled order gave nothing, and gave its use and budget back.
    order_services.merchant_order_cancel_by_buyer(order=orders[2].merchant_orders.get(), buyer=buyer)
    client.force_login(merchant.owner)
    body = client.get(BASE, **EN).content.decode()
    row = re.search(rf'<a href="/portal/promotions/{promotion.pk}/">.*?</tr>', body, re.S).group(0)
    cells = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    starts = timezone.localtime(promotion.starts_at).strftime("%Y-%m-%d %H:%M")
    ends = timezone.localtime(promotion.ends_at).strftime("%Y-%m-%d %H:%M")
    # From the status cell on (the row's text starts inside the name cell).
    assert cells == [
        "Active",
        f"{starts} – {ends}",
        "Platform 25 %, your shop the rest",
        "¥40.00 2 of 50 uses",
        "¥60.00",
        "¥40.00",
        "2",
    ]
    assert f"/portal/promotions/{other_shop.pk}/" not in body


def test_list_is_paginated_and_filtered_by_status(client, shop):
    merchant, _category = shop
    for _ in range(26):
        shop_promotion(merchant)
    shop_promotion(merchant, live=True, name="Running")
    client.force_login(merchant.owner)
    first = client.get(BASE, **EN).content.decode()
    second = client.get(BASE + "?page=2", **EN).content.decode()
    assert len(re.findall(r'<a href="/portal/promotions/\d+/">', first)) == 25
    assert len(re.findall(r'<a href="/portal/promotions/\d+/">', second)) == 2
    assert "Page 2 of 2" in second
    active = client.get(BASE + "?status=active", **EN).content.decode()
    assert re.findall(r'<a href="/portal/promotions/\d+/">([^<]+)</a>', active) == ["Running"]


# --- Creating and editing -------------------------------------------------------------------------


def test_create_spend_and_save_with_steps(client, shop):
    merchant, _category = shop
    client.force_login(merchant.owner)
    response = client.post(
        BASE + "new/",
        _form(steps=(("300", "40"), ("200", "20")), min_quantity="2", budget_amount="500", per_buyer_limit="1"),
        **EN,
    )
    promotion = Promotion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/promotions/{promotion.pk}/"
    assert (promotion.level, promotion.merchant, promotion.status, promotion.benefit_type, promotion.scope) == (
        "shop",
        merchant,
        "draft",
        "spend_and_save",
        "shop",
    )
    assert (promotion.min_quantity, promotion.budget_amount, promotion.per_buyer_limit, promotion.platform_share) == (
        2,
        Decimal("500.00"),
        1,
        Decimal("0"),
    )
    assert list(PromotionStep.objects.filter(promotion=promotion).values_list("threshold", "amount")) == [
        (Decimal("200.00"), Decimal("20.00")),
        (Decimal("300.00"), Decimal("40.00")),
    ]
    body = client.get(response["Location"], **EN).content.decode()
    assert "¥20 off orders from ¥200 ¥40 off orders from ¥300" in body


@pytest.mark.parametrize(
    ("benefit", "fields", "expected"),
    [
        ("percentage", {"percent": "15"}, {"percent": Decimal("15.00"), "amount": None}),
        ("fixed_amount", {"amount": "30"}, {"percent": None, "amount": Decimal("30.00")}),
        ("free_shipping", {}, {"percent": None, "amount": None}),
    ],
)
def test_create_every_benefit_type(client, shop, benefit, fields, expected):
    merchant, _category = shop
    client.force_login(merchant.owner)
    response = client.post(BASE + "new/", _form(benefit_type=benefit, steps=(), **fields), **EN)
    assert response.status_code == 302
    promotion = Promotion.objects.get()
    assert promotion.benefit_type == benefit
    assert {"percent": promotion.percent, "amount": promotion.amount} == expected
    assert promotion.steps.count() == 0


def test_create_a_gift_on_chosen_products_of_the_shop(client, shop):
    merchant, category = shop
    lamp = product(merchant, category, title="Lamp")
    bulb = product(merchant, category, title="Bulb", price="5.00")
    client.force_login(merchant.owner)
    response = client.post(
        BASE + "new/",
        _form(
            benefit_type="gift_sku",
            gift_sku=str(bulb.skus.get().pk),
            scope="products",
            products=[str(lamp.pk)],
            **_steps(),
        ),
        **EN,
    )
    assert response.status_code == 302
    promotion = Promotion.objects.get()
    assert (promotion.gift_sku, list(promotion.products.all())) == (bulb.skus.get(), [lamp])


def test_create_on_chosen_categories_of_the_contract(client, shop):
    merchant, category = shop
    client.force_login(merchant.owner)
    response = client.post(BASE + "new/", _form(scope="categories", categories=[str(category.pk)]), **EN)
    assert response.status_code == 302
    assert list(Promotion.objects.get().categories.all()) == [category]


def test_a_platform_share_goes_to_operations(client, shop):
    merchant, _category = shop
    client.force_login(merchant.owner)
    client.post(BASE + "new/", _form(platform_share_percent="30"), **EN)
    promotion = Promotion.objects.get()
    assert promotion.platform_share == Decimal("0.3000")
    response = client.post(f"{BASE}{promotion.pk}/publish/", **EN, follow=True)
    promotion.refresh_from_db()
    assert promotion.status == "pending_approval"
    assert "Sent to operations" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field_errors", "alerts"),
    [
        # The form's own checks, every one shown at once.
        (
            {"name": "", "percent": "120", "min_spend": "-1"},
            [
                "This field is required.",
                "Ensure this value is less than or equal to 99.99.",
                "Ensure this value is greater than or equal to 0.01.",
            ],
            [],
        ),
        ({"ends_at": "2020-01-01T00:00"}, ["The promotion must end after it starts."], []),
        # The services' refusals, on their field or above the steps.
        ({"benefit_type": "percentage", "steps": ()}, ["The percentage is between 0 and 100."], []),
        (
            {"steps": (("200", "20"), ("300", "10"))},
            [],
            ["Each step needs a higher threshold and a larger amount than the one before."],
        ),
        ({"steps": ()}, [], ["Give at least one spend-and-save step."]),
        ({"scope": "products"}, [], ["Choose at least one product."]),
        ({"benefit_type": "gift_sku", "steps": ()}, ["Choose an active SKU of your shop as the gift."], []),
    ],
)
def test_refusals_are_shown_and_nothing_is_written(client, shop, overrides, field_errors, alerts):
    merchant, _category = shop
    client.force_login(merchant.owner)
    response = client.post(BASE + "new/", _form(**overrides), **EN)
    assert response.status_code == 400
    assert _errors(response) == field_errors
    assert _alerts(response) == alerts
    assert (
        Promotion.objects.count(),
        PromotionStep.objects.count(),
        AuditLogEntry.objects.filter(action__startswith="promotions.").count(),
    ) == (0, 0, 0)


def test_another_shops_product_or_sku_is_not_offered_and_a_forged_one_refused(client, shop):
    merchant, _category = shop
    other, other_categories = live_merchant()
    theirs = product(other, other_categories[0], title="Their lamp")
    client.force_login(merchant.owner)
    page = client.get(BASE + "new/", **EN).content.decode()
    assert "Their lamp" not in page
    response = client.post(
        BASE + "new/",
        _form(scope="products", products=[str(theirs.pk)], benefit_type="gift_sku", gift_sku=str(theirs.skus.get().pk)),
        **EN,
    )
    assert response.status_code == 400
    assert sorted(_errors(response)) == sorted(
        [
            f"Select a valid choice. {theirs.skus.get().pk} is not one of the available choices.",
            f"Select a valid choice. {theirs.pk} is not one of the available choices.",
        ]
    )
    assert Promotion.objects.count() == 0


def test_edit_a_draft_keeps_what_was_not_changed(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant, per_buyer_limit=2)
    client.force_login(merchant.owner)
    page = client.get(f"{BASE}{promotion.pk}/edit/", **EN).content.decode()
    assert 'name="steps-0-threshold" value="200.00"' in page
    assert 'name="per_buyer_limit" value="2"' in page
    response = client.post(
        f"{BASE}{promotion.pk}/edit/", _form(name="Renamed", per_buyer_limit="2", steps=(("100", "5"),)), **EN
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert (promotion.name, promotion.per_buyer_limit, promotion.status) == ("Renamed", 2, "draft")
    assert list(promotion.steps.values_list("threshold", "amount")) == [(Decimal("100.00"), Decimal("5.00"))]


def test_a_live_promotion_is_not_editable(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant, live=True)
    client.force_login(merchant.owner)
    response = client.post(f"{BASE}{promotion.pk}/edit/", _form(name="Sneaky"), **EN, follow=True)
    assert response.redirect_chain == [(f"/portal/promotions/{promotion.pk}/", 302)]
    assert "Only a draft or rejected promotion can be edited." in response.content.decode()
    promotion.refresh_from_db()
    assert promotion.name == "Spring sale"


# --- Commands -------------------------------------------------------------------------------------


def test_put_live_pause_resume_end(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant)
    client.force_login(_member(merchant, "catalog"))
    states = []
    for command in ("publish", "pause", "resume", "end"):
        response = client.post(f"{BASE}{promotion.pk}/{command}/", **EN)
        assert response.status_code == 302
        promotion.refresh_from_db()
        states.append(promotion.status)
    assert states == ["active", "paused", "active", "ended"]
    assert list(
        AuditLogEntry.objects.filter(action__startswith="promotions.").order_by("pk").values_list("action", flat=True)
    ) == [
        "promotions.created",
        "promotions.activate",
        "promotions.pause",
        "promotions.resume",
        "promotions.end",
    ]


def test_a_command_the_state_refuses_says_why_and_changes_nothing(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant)
    client.force_login(merchant.owner)
    response = client.post(f"{BASE}{promotion.pk}/resume/", **EN, follow=True)
    assert "This cannot be done while the promotion is “Draft”." in response.content.decode()
    promotion.refresh_from_db()
    assert promotion.status == "draft"


def test_commands_take_post_only(client, shop):
    merchant, _category = shop
    promotion = shop_promotion(merchant)
    client.force_login(merchant.owner)
    assert client.get(f"{BASE}{promotion.pk}/publish/", **EN).status_code == 405
    promotion.refresh_from_db()
    assert promotion.status == "draft"


def test_the_rejection_reason_is_shown_to_the_merchant(client, shop):
    from promotions import services

    merchant, _category = shop
    promotion = shop_promotion(merchant, live=True, platform_share=Decimal("0.5"))
    services.promotion_reject(promotion=promotion, actor=UserFactory(is_staff=True), reason="Half is too much")
    client.force_login(merchant.owner)
    body = client.get(f"{BASE}{promotion.pk}/", **EN).content.decode()
    assert "Operations did not approve the platform share:</strong> Half is too much" in body
    assert "Platform 50 %, your shop the rest" in body
