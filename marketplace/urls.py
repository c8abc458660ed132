"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .auth_api import MeView, TokenObtainView
from .forms import EmailAuthenticationForm

api_v1 = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("auth/me/", MeView.as_view(), name="api-me"),
    path("merchants/", include("merchants.api.urls")),
    path("catalog/", include("catalog.api.urls")),
    path("orders/", include("orders.api.urls")),
    path("promotions/coupons/", include("promotions.api.coupon_urls")),
    path("settlements/", include("settlements.api.urls")),
    path("promotions/", include("promotions.api.urls")),
    path("notifications/", include("notifications.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script from a URL (the CSP refuses inline script).
    # GET and HEAD only: its HTML renderer has no template for DRF's OPTIONS metadata (500).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api_docs.html", http_method_names=["get", "head"]
        ),
        name="api-docs",
    ),
]

account_urls = [
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("signup/confirm/<signed:token>/", views.signup_confirm, name="signup_confirm"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include(account_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    # Promotions' marketing pages: plain admin views, not a ModelAdmin's (before the admin's
    # own URLs, which would answer the path with its catch-all 404).
    path("admin/promotions/marketing/", include("promotions.admin.marketing")),
    # The dashboards of operations and finance (issue #16): plain admin views too.
    path("admin/dashboards/operations/", include("orders.operations_dashboard")),
    path("admin/dashboards/finance/", include("settlements.admin.finance_dashboard")),
    path("admin/", admin.site.urls),
    path("portal/catalog/", include("catalog.portal_urls")),
    path("portal/orders/", include("orders.portal_urls")),
    path("portal/promotions/", include("promotions.portal_urls")),
    path("portal/statements/", include("settlements.portal_urls")),
    path("portal/quality/", include("risk.portal_urls")),
    path("portal/group-buys/", include("promotions.group_buy_portal_urls")),
    path("portal/promotions/", include("promotions.marketing_urls")),
    path("portal/", include("merchants.urls")),
    path("shops/", include("merchants.shop_urls")),
    path("notifications/", include("notifications.urls")),
    path("coupons/", include("promotions.coupon_urls")),
    path("promotions/", include("promotions.storefront_urls")),
    path("group-buys/", include("promotions.group_buy_urls")),
    path("", include("orders.urls")),
    path("", include("promotions.urls")),
    path("", include("catalog.urls")),
    path("api/v1/", include(api_v1)),
]

handler400 = "marketplace.views.bad_request"
handler403 = "marketplace.views.permission_denied"
handler404 = "marketplace.views.page_not_found"
handler500 = "marketplace.views.server_error"

admin.site.site_header = settings.PLATFORM_NAME
admin.site.site_title = settings.PLATFORM_NAME
