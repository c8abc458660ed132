"""Storefront URLs: home, categories, products, search."""

urlpatterns: list = []
