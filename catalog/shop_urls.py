"""The public shop page's product listing, included under /shops/<slug>/ by merchants.shop_urls
(by name, as the project's URLconf includes every app: merchants does not import catalog)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.shop_page, name="shop_page"),
]
