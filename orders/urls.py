"""Buyer pages: cart, checkout, payment, my orders, after-sales, addresses (at the site root)."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("after-sales/photos/<int:photo_id>/", views.after_sales_photo, name="after_sales_photo"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/placing/<token:key>/", views.checkout_placing, name="checkout_placing"),
    path("pay/sandbox/<token:reference>/", views.sandbox_pay, name="sandbox_pay"),
    path("pay/<token:number>/", views.pay, name="pay"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<token:number>/", views.order_detail, name="order_detail"),
    path("orders/<token:number>/shops/<token:part>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<token:number>/shops/<token:part>/confirm/", views.order_confirm, name="order_confirm"),
    path("orders/<token:number>/shops/<token:part>/after-sales/", views.after_sales_new, name="after_sales_new"),
    path("orders/<token:number>/shops/<token:part>/complaint/", views.complaint_new, name="complaint_new"),
    path(
        "orders/<token:number>/after-sales/<int:request_id>/escalate/",
        views.after_sales_escalate,
        name="after_sales_escalate",
    ),
    path(
        "orders/<token:number>/after-sales/<int:request_id>/withdraw/",
        views.after_sales_withdraw,
        name="after_sales_withdraw",
    ),
    path("orders/<token:number>/lines/<int:line_id>/review/", views.review_new, name="review_new"),
    path("reviews/photos/<int:photo_id>/", views.review_photo, name="review_photo"),
    path("addresses/", views.addresses, name="addresses"),
    path("addresses/<int:address_id>/", views.address_edit, name="address_edit"),
    path("addresses/<int:address_id>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<int:address_id>/default/", views.address_default, name="address_default"),
]
