"""Storefront URLs: home, categories, products, search, product pictures."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    # Category slugs may be Chinese (allow_unicode), which the slug converter refuses; `uslug` takes them (and no NUL).
    path("c/<uslug:slug>/", views.category_page, name="category_page"),
    path("p/<int:product_id>/", views.product_page, name="product_page"),
    re_path(
        r"^images/products/(?P<image_id>[0-9]+)/(?P<size>small|medium|full)/$",
        views.product_image,
        name="product_image",
    ),
]
