"""The lean routes of orders (marketplace/lean.py): add-to-cart and checkout with an API token.

As promotions.api.lean_urls: only `POST` with an `Authorization: Token …` header (any case, as
DRF reads it) to these paths is taken; everything else (a session, anonymous, other methods)
goes to the project's full stack. The paths are the ones the orders API gives the views (a
test checks they agree).
"""

from django.urls import Resolver404, get_resolver, path

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


def takes(environ) -> bool:
    """Whether the lean handler serves this WSGI request (see the module's docstring)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return False
    scheme = environ.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    if scheme.lower() != "token":
        return False
    try:
        get_resolver(__name__).resolve(environ.get("PATH_INFO", ""))
    except Resolver404:
        return False
    return True
