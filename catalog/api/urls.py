"""Catalog API under /api/v1/catalog/: public browsing and the merchant's own catalog."""

from django.urls import include, path

urlpatterns = [
    path("merchant/", include("catalog.api.merchant_urls")),
    path("", include("catalog.api.public_urls")),
]
