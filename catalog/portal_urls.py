"""Merchant portal catalog URLs, under /portal/catalog/."""

app_name = "portal_catalog"

urlpatterns: list = []
