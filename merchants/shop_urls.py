"""Public shop pages, under /shops/."""

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:slug>/", views.shop_page, name="shop_page"),
    path("<slug:slug>/logo/", views.shop_logo, name="shop_logo"),
]
