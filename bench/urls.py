"""The benchmark servers' URLs: the product's own, plus the baseline checkout beside them, so
both are served by the same gunicorn with the same configuration."""

from django.urls import include, path

from bench.baseline import views

urlpatterns = [
    path("bench/baseline/checkout/", views.checkout, name="bench-baseline-checkout"),
    path("bench/baseline/page/", views.page, name="bench-baseline-page"),
    path("", include("marketplace.urls")),
]

handler400 = "marketplace.views.bad_request"
handler403 = "marketplace.views.permission_denied"
handler404 = "marketplace.views.page_not_found"
handler500 = "marketplace.views.server_error"
