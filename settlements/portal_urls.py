"""Merchant portal statements, under /portal/statements/."""

from django.urls import path

from . import portal_subsidies
from . import portal_views as views

app_name = "portal_statements"

urlpatterns = [
    path("", views.statement_list, name="list"),
    path("<int:statement_id>/", views.statement_detail, name="detail"),
    path("<int:statement_id>/csv", views.statement_csv, name="csv"),
    path("<int:statement_id>/pdf", views.statement_pdf, name="pdf"),
    path("<int:statement_id>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("subsidies/", portal_subsidies.grant_list, name="grant_list"),
    path("subsidies/<int:application_id>/", portal_subsidies.grant_detail, name="grant_detail"),
]
