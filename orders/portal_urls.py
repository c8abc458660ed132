"""Merchant portal order pages, under /portal/orders/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_orders"

urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("<int:order_id>/", views.order_detail, name="order"),
    path("<int:order_id>/ship/", views.order_ship, name="order_ship"),
    path("ship/import/", views.ship_import, name="ship_import"),
    path("merge/", views.merge, name="merge"),
    path("shipping-fee/", views.shipping_rate, name="shipping_rate"),
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<int:review_id>/reply/", views.review_reply, name="review_reply"),
    path("complaints/", views.complaint_list, name="complaints"),
    path("after-sales/", views.after_sales_list, name="after_sales"),
    path("after-sales/<int:request_id>/", views.after_sales_detail, name="after_sales_detail"),
    path("after-sales/<int:request_id>/accept/", views.after_sales_accept, name="after_sales_accept"),
    path("after-sales/<int:request_id>/reject/", views.after_sales_reject, name="after_sales_reject"),
    path(
        "after-sales/<int:request_id>/return-received/",
        views.after_sales_return_received,
        name="after_sales_return_received",
    ),
]
