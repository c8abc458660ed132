"""Merchant portal statements, under /portal/statements/."""

from django.urls import path

from . import portal_charges, portal_subsidies
from . import portal_views as views

app_name = "portal_statements"

urlpatterns = [
    path("", views.statement_list, name="list"),
    path("<int:statement_id>/", views.statement_detail, name="detail"),
    path("<int:statement_id>/csv", views.statement_csv, name="csv"),
    path("<int:statement_id>/pdf", views.statement_pdf, name="pdf"),
    path("<int:statement_id>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    # Penalties and service fees (issue #14).
    path("penalties/", portal_charges.penalty_list, name="penalties"),
    path("penalties/<int:penalty_id>/", portal_charges.penalty_detail, name="penalty"),
    path("penalties/<int:penalty_id>/files/<int:file_id>", portal_charges.penalty_file, name="penalty_file"),
    path("fees/", portal_charges.fees, name="fees"),
    path("fees/subscribe", portal_charges.subscribe, name="subscribe"),
    path("fees/subscription/end", portal_charges.subscription_end, name="subscription_end"),
    path("fees/buy", portal_charges.purchase, name="purchase"),
    path("subsidies/", portal_subsidies.grant_list, name="grant_list"),
    path("subsidies/<int:application_id>/", portal_subsidies.grant_detail, name="grant_detail"),
    path(
        "subsidies/<int:application_id>/documents/<int:document_id>/",
        portal_subsidies.grant_document,
        name="grant_document",
    ),
]
