"""Builders for catalog tests: live merchants with granted categories, products, stock."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import Category, Product, Warehouse
from merchants.choices import MerchantStatus
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.merchants.factories import merchant_in_state

_n = itertools.count(1)


def image_upload(color=(200, 60, 20), size=(64, 48), name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def live_merchant(*, categories: list[Category] | None = None, **kwargs):
    """A live merchant whose contract (and grants, given with the approval) cover `categories`."""
    categories = categories or [make_category(f"Cat {next(_n)}")]
    merchant = merchant_in_state(MerchantStatus.LIVE, categories=categories, **kwargs)
    return merchant, categories


def warehouse(*, region="east", kind="regional_central", merchant=None, code=None) -> Warehouse:
    return Warehouse.objects.create(
        code=code or f"WH{next(_n):04d}",
        name=f"Warehouse {region}",
        kind=kind if merchant is None else "merchant",
        region=region,
        merchant=merchant,
    )


def product(
    merchant, category, *, title="Desk lamp", price="199.99", skus=None, publish=True, actor=None, **kwargs
) -> Product:
    """A product with SKUs; published (submitted with a picture and approved) by default."""
    actor = actor or merchant.owner
    skus = skus or [{"code": f"SKU-{next(_n)}", "price": price, "attributes": {"colour": "white"}}]
    item = services.product_create(merchant=merchant, actor=actor, title=title, category=category, skus=skus, **kwargs)
    if publish:
        services.product_image_add(product=item, actor=actor, uploaded=image_upload(color=(next(_n) % 255, 10, 10)))
        services.product_submit(product=item, actor=actor)
        services.product_approve(product=item, actor=UserFactory(is_staff=True))
    item.refresh_from_db()
    return item


def money(value: str) -> Decimal:
    return Decimal(value)
