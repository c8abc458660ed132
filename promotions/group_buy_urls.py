"""Storefront group buy pages, under /group-buys/."""

from django.urls import path

from . import views

app_name = "group_buys"

urlpatterns = [
    path("<int:campaign_id>/", views.campaign_page, name="campaign"),
    path("<int:campaign_id>/join/", views.join, name="join"),
    path("groups/<int:group_id>/", views.group_page, name="group"),
]
