"""The product cards' link filters (catalog/templatetags/storefront_urls.py) give exactly what
`{% url %}` gives, and follow whatever `reverse` depends on."""

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import clear_script_prefix, path, reverse, set_script_prefix

from catalog import views
from catalog.templatetags.storefront_urls import product_image_path, product_path

CARD = (
    "{% load storefront_urls %}{{ pk|product_path }} {{ pk|product_image_path:'medium' }}|"
    "{% url 'product_page' pk %} {% url 'product_image' pk 'medium' %}"
)


def _render(pk) -> tuple[str, str]:
    mine, django = engines["django"].from_string(CARD).render({"pk": pk}).split("|")
    return mine, django


@pytest.mark.parametrize("pk", [1, 42, 9_999_999_999])
def test_the_filters_give_the_paths_url_gives(pk):
    mine, django = _render(pk)
    assert mine == django == f"/p/{pk}/ /images/products/{pk}/medium/"


def test_every_picture_size_and_a_string_id():
    for size in ("small", "medium", "full"):
        assert (
            product_image_path("7", size) == reverse("product_image", args=[7, size]) == f"/images/products/7/{size}/"
        )
    assert product_path("12") == "/p/12/"


def test_they_follow_the_script_prefix():
    assert product_path(5) == "/p/5/"
    set_script_prefix("/shop&co/")
    try:
        mine, django = _render(5)
        # The same quoting and the same escaping as {% url %}.
        assert mine == django == "/shop&amp;co/p/5/ /shop&amp;co/images/products/5/medium/"
    finally:
        clear_script_prefix()
    assert product_path(5) == "/p/5/"


urlpatterns = [path("elsewhere/product-<int:product_id>.html", views.product_page, name="product_page")]


@override_settings(ROOT_URLCONF=__name__)
def test_they_follow_a_changed_url_configuration():
    assert product_path(5) == "/elsewhere/product-5.html"


def test_a_value_that_is_not_an_id_is_refused_not_linked():
    with pytest.raises(ValueError):
        product_path("5/../admin")
