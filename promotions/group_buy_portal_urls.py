"""Merchant portal group buy pages, under /portal/group-buys/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_group_buys"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    *[
        path(f"<int:campaign_id>/{action}/", views.campaign_transition, {"action": action}, name=action)
        for action in ("pause", "resume", "end")
    ],
]
