"""Merchant portal promotion URLs, under /portal/promotions/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_promotions"

urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("new/", views.promotion_create, name="create"),
    path("<int:promotion_id>/", views.promotion_detail, name="detail"),
    path("<int:promotion_id>/edit/", views.promotion_edit, name="edit"),
    path("<int:promotion_id>/publish/", views.promotion_publish, name="publish"),
    path("<int:promotion_id>/pause/", views.promotion_pause, name="pause"),
    path("<int:promotion_id>/resume/", views.promotion_resume, name="resume"),
    path("<int:promotion_id>/end/", views.promotion_end, name="end"),
    path("flash-sales/", views.flash_sale_list, name="flash_list"),
    path("flash-sales/new/", views.flash_sale_create, name="flash_create"),
    path("flash-sales/<int:sale_id>/pause/", views.flash_sale_pause, name="flash_pause"),
]
