"""`sku_on_sale` (plain joins, used by the cart) selects exactly the SKUs of the products
`product_public_queryset` shows, so the cart's "on sale" and the storefront's cannot drift."""

from __future__ import annotations

import pytest
from django.db.models import BooleanField, ExpressionWrapper
from django.utils import timezone

from catalog.models import SKU, Product
from catalog.selectors import product_public_queryset, sku_on_sale, sku_public_queryset
from merchants.choices import MerchantStatus
from merchants.models import Merchant
from orders.models import Cart, CartItem
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """One SKU per way of (not) being on sale; Product/Merchant rows changed directly so
    each case differs from the on-sale one in exactly one column."""
    merchant, (category,) = live_merchant()
    other, (other_category,) = live_merchant()
    skus = {}
    for name in ("on_sale", "inactive", "unpublished", "withdrawn", "unpriced"):
        item = product(merchant, category, title=name)
        skus[name] = item.skus.get()
    skus["merchant_suspended"] = product(other, other_category).skus.get()
    SKU.objects.filter(pk=skus["inactive"].pk).update(is_active=False)
    Product.objects.filter(pk=skus["unpublished"].product_id).update(published_at=None)
    Product.objects.filter(pk=skus["withdrawn"].product_id).update(withdrawn_at=timezone.now())
    Product.objects.filter(pk=skus["unpriced"].product_id).update(min_price=None)
    Merchant.objects.filter(pk=other.pk).update(status=MerchantStatus.SUSPENDED)
    return skus


def test_sku_public_queryset_is_the_public_products_active_skus(world):
    heavy = SKU.objects.filter(is_active=True, product__in=product_public_queryset().values("pk"))
    expected = {world["on_sale"].pk}
    assert set(heavy.values_list("pk", flat=True)) == expected
    assert set(sku_public_queryset().values_list("pk", flat=True)) == expected


def test_sku_on_sale_with_a_prefix_as_an_annotation(world):
    cart = Cart.objects.create(buyer=UserFactory())
    for sku in world.values():
        CartItem.objects.create(cart=cart, sku=sku, quantity=1)
    rows = dict(
        CartItem.objects.filter(cart=cart)
        .annotate(on_sale=ExpressionWrapper(sku_on_sale("sku__"), output_field=BooleanField()))
        .values_list("sku_id", "on_sale")
    )
    assert rows == {sku.pk: name == "on_sale" for name, sku in world.items()}
