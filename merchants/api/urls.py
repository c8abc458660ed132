from django.urls import path

from marketplace.routers import Router

from .views import ApplicationViewSet, MyBankChangesView, MyMerchantView, PublicShopView

router = Router()
router.register("applications", ApplicationViewSet, basename="merchant-application")

urlpatterns = [
    path("me/", MyMerchantView.as_view(), name="merchant-me"),
    path("me/bank-account-changes/", MyBankChangesView.as_view(), name="merchant-me-bank-changes"),
    path("shops/<slug:slug>/", PublicShopView.as_view(), name="merchant-shop"),
    *router.urls,
]
