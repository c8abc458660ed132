from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApplicationViewSet, MyMerchantView, PublicShopView

router = SimpleRouter()
router.register("applications", ApplicationViewSet, basename="merchant-application")

urlpatterns = [
    path("me/", MyMerchantView.as_view(), name="merchant-me"),
    path("shops/<slug:slug>/", PublicShopView.as_view(), name="merchant-shop"),
    *router.urls,
]
