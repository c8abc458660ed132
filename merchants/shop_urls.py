"""Public shop pages, under /shops/."""

from django.urls import include, path

from . import views

urlpatterns = [
    # The page lists the shop's products with the storefront's filters: a catalog page
    # (catalog.views.shop_page), included by name since merchants sits below catalog.
    path("<slug:slug>/", include("catalog.shop_urls")),
    path("<slug:slug>/logo/", views.shop_logo, name="shop_logo"),
]
