"""Merchant portal catalog URLs, under /portal/catalog/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_catalog"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_detail, name="product"),
    path("products/<int:product_id>/submit/", views.product_submit, name="product_submit"),
    path("products/<int:product_id>/withdraw/", views.product_withdraw, name="product_withdraw"),
    path("products/<int:product_id>/images/", views.image_add, name="image_add"),
    path("products/<int:product_id>/images/<int:image_id>/remove/", views.image_remove, name="image_remove"),
    path("products/<int:product_id>/skus/new/", views.sku_create, name="sku_create"),
    path("products/<int:product_id>/skus/<int:sku_id>/", views.sku_edit, name="sku_edit"),
    path("images/<int:image_id>/<slug:size>/", views.image_file, name="image"),
    path("stock/", views.stock, name="stock"),
    path("stock/receive/", views.stock_receive, name="stock_receive"),
    path("stock/adjust/", views.stock_adjust, name="stock_adjust"),
    path("stock/import/", views.stock_import, name="stock_import"),
    path("stock/<int:stock_id>/", views.stock_history, name="stock_history"),
    path("alerts/", views.alerts, name="alerts"),
]
