"""Orders API under /api/v1/orders/."""

from django.urls import path

from marketplace.routers import Router

from . import views
from .merchant import MerchantOrderViewSet

router = Router()
router.register("orders", views.BuyerOrderViewSet, basename="buyer-order")
router.register("merchant-orders", views.BuyerMerchantOrderViewSet, basename="buyer-merchant-order")
router.register("after-sales", views.AfterSalesViewSet, basename="after-sales")
router.register("order-lines", views.OrderLineViewSet, basename="order-line")
router.register("merchant/orders", MerchantOrderViewSet, basename="merchant-order")

urlpatterns = [
    path("cart/", views.CartView.as_view(), name="api-orders-cart"),
    path("cart/pricing/", views.CartPricingView.as_view(), name="api-orders-cart-pricing"),
    path("cart/items/", views.CartItemsView.as_view(), name="api-orders-cart-items"),
    path("cart/items/<int:sku_id>/", views.CartItemView.as_view(), name="api-orders-cart-item"),
    path("checkout/", views.CheckoutView.as_view(), name="api-orders-checkout"),
    path("payments/sandbox/callback/", views.SandboxCallbackView.as_view(), name="api-orders-sandbox-callback"),
    *router.urls,
]
