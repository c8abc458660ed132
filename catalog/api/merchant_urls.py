"""Merchant catalog API URLs (the caller's own products and stock)."""

urlpatterns: list = []
