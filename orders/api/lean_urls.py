"""The lean routes of orders (marketplace/lean.py): add-to-cart and checkout with an API token.

As promotions.api.lean_urls: only `POST` with an `Authorization: Token …` header (any case, as
DRF reads it) to these paths is taken; everything else (a session, anonymous, other methods)
goes to the project's full stack. The paths are the ones the orders API gives the views (a
test checks they agree).
"""

from django.urls import path

from marketplace.lean import token_posts

from . import lean

urlpatterns = [
    path("api/v1/orders/cart/items/", lean.cart_items_with_token, name="api-orders-cart-items-lean"),
    path("api/v1/orders/checkout/", lean.checkout_with_token, name="api-orders-checkout-lean"),
]

# The project's error views (marketplace/urls.py), so an error answers here as anywhere.
handler400 = "marketplace.views.bad_request"
handler403 = "marketplace.views.permission_denied"
handler404 = "marketplace.views.page_not_found"
handler500 = "marketplace.views.server_error"


#: Whether the lean handler serves a WSGI request (see the module's docstring).
takes = token_posts(__name__)
