"""Merchant portal URLs, under /portal/."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("apply/", views.apply, name="apply"),
    path("apply/submit/", views.apply_submit, name="apply_submit"),
    path("apply/<slug:step>/", views.apply_step, name="apply_step"),
    path("application/", views.application, name="application"),
    path("documents/<int:document_id>/", views.document_download, name="document"),
    path("documents/<int:document_id>/delete/", views.document_delete, name="document_delete"),
    path("documents/renewals/", views.documents, name="documents"),
    path("documents/<int:document_id>/renew/", views.document_renew, name="document_renew"),
    path("contract/", views.contract, name="contract"),
    path("amendments/<int:amendment_id>/accept/", views.amendment_accept, name="amendment_accept"),
    path("amendments/<int:amendment_id>/decline/", views.amendment_decline, name="amendment_decline"),
    path("bank-account/", views.bank_account, name="bank_account"),
    path("deposit/", views.deposit, name="deposit"),
    path("deposit/pay/", views.deposit_pay, name="deposit_pay"),
    path("go-live/", views.go_live, name="go_live"),
    path("members/", views.members, name="members"),
    path("members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<token:token>/", views.invitation_accept, name="invitation_accept"),
    path("shop/", views.shop_settings, name="shop"),
]
