"""Add-to-cart and checkout with an API token through the lean handler (marketplace/lean.py,
orders/api/lean_urls.py): the hot requests of an order (issue #12: 2 cart adds + checkout).

The common request (a JSON object body, a valid token of a buyer, an answer in JSON, a caller
under the API's rate) is answered here without the full middleware stack and DRF's request
handling; a refusal is answered by the API's exception handler, as DRF would. The checkout
is answered by the API view's own `post` (`CheckoutView`: the same serializers, services,
idempotency and answers). The add-to-cart (`cart_items_with_token`), two of an order's three
requests, does `CartItemsView.post`'s work with less: the token's user from the flash-sale
admission's token cache (no statement; revoked at once, `promotions.api.flash_tokens`), and the
answer written as a plain dict (`cart_body`) instead of through `CartSerializer` (the same
JSON: tests compare them over carts of every shape). Anything else goes to the API view itself, before anything is counted
or changed: a bad or missing token (401), staff (404), a body that is not a JSON object or
not JSON (form, malformed: 400 `parse_error`), another answer format (the browsable API), and
a caller over the rate (429: the throttles record no refused request, so DRF's check refuses
it again without counting it twice).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.urls import resolve
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import json

from marketplace.api import exception_handler, validated
from marketplace.authentication import TokenAuthentication
from marketplace.parsers import JSONParser, json_depth_exceeds
from promotions.api.flash import CachedTokenAuthentication

from .. import selectors, services
from .serializers import MAX_ID, CartItemAddSerializer, CartSerializer
from .views import CartItemsView, CheckoutView

#: A body longer than this is not a plain add-to-cart or checkout: the API view reads it.
PLAIN_BODY_MAX = 16 * 1024
#: `Accept` headers the API answers in JSON (DRF's negotiation picks its JSON renderer first).
JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})

_renderer = JSONRenderer()
#: The API's JSON parser's handling of NaN and Infinity (DRF's STRICT_JSON: refused).
_strict_constant = json.strict_constant if JSONParser.strict else None


class _PlainRequest:
    """What the API views' `post` read of DRF's request: the parsed body, the caller, the
    headers; anything else from Django's request, as DRF's Request hands it on (so a view
    that starts reading another attribute still works here)."""

    __slots__ = ("_request", "data", "headers", "method", "path", "user")

    def __init__(self, request, data, user):
        self._request, self.data, self.user, self.headers = request, data, user, request.headers
        self.method, self.path = request.method, request.path

    @property
    def query_params(self):
        return self._request.GET

    def __getattr__(self, name):
        return getattr(self._request, name)


def _plain_data(request) -> dict | None:
    """The body as a JSON object if it is a plain one DRF would parse the same; else None."""
    if request.content_type != "application/json" or request.content_params not in ({}, {"charset": "utf-8"}):
        return None
    # From META: `request.headers` would build a dict of every header first (a tenth of the
    # add's CPU here, issue #12).
    if request.META.get("HTTP_ACCEPT", "").strip() not in JSON_ACCEPTS:
        return None
    # The declared length first: reading a body over Django's limit would raise here, where the
    # API answers it 400 `parse_error`.
    declared = request.META.get("CONTENT_LENGTH") or ""
    limit = min(PLAIN_BODY_MAX, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or PLAIN_BODY_MAX)
    if not declared.isdigit() or not 0 < int(declared) <= limit:
        return None
    # What the API's parser (marketplace.parsers.JSONParser over DRF's) accepts, read the way it
    # reads it: UTF-8, no NaN or Infinity (DRF's strict JSON), nesting within its limit. It is
    # not called: it builds its translated refusal on every call, most of its cost. Anything
    # it would refuse is left to the API view, which answers its 400 `parse_error`.
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_strict_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(data, dict) or json_depth_exceeds(data):
        return None
    return data


def _buyer(request, authentication=TokenAuthentication):
    """The token's user if it is a buyer (active, not staff); else None (DRF answers)."""
    try:
        authenticated = authentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if authenticated is None or authenticated[0].is_staff:
        return None
    return authenticated[0]


def _under_rate(request, api_view) -> bool:
    """The API's throttles, as DRF checks them (each records the request it lets through)."""
    return all(throttle().allow_request(request, api_view) for throttle in api_view.throttle_classes)


def _answer(body, status_code: int, headers) -> HttpResponse:
    """As DRF's answer of the view: its JSON rendering, `Allow` and `Vary: Accept`."""
    response = HttpResponse(_renderer.render(body), status=status_code, content_type="application/json")
    response["Allow"] = "POST, OPTIONS"
    for name, value in headers.items():
        response[name] = value
    patch_vary_headers(response, ("Accept",))
    return response


def _api_view(request):
    """The API's own view (DRF, as the project's URLs route it)."""
    match = resolve(request.path_info, urlconf=settings.ROOT_URLCONF)
    return match.func(request, *match.args, **match.kwargs)


def _lean_post(view_class):
    api_view = view_class()

    @csrf_exempt  # token authentication only: no cookie, nothing to forge
    def view(request):
        data = _plain_data(request)
        if data is None:
            return _api_view(request)
        user = _buyer(request)
        if user is None:
            return _api_view(request)
        request.user = user  # the throttles key a signed-in caller by it
        if not _under_rate(request, api_view):
            return _api_view(request)
        try:
            response = view_class.post(api_view, _PlainRequest(request, data, user))
        except Exception as error:
            response = exception_handler(error, {"view": None, "request": request})
            if response is None:
                raise
        # Its own headers (Retry-After of a 503), not the unrendered Response's Content-Type.
        headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
        return _answer(response.data, response.status_code, headers)

    view.__doc__ = f"`{view_class.__name__}.post` with an API token, answered as DRF would (module docstring)."
    return view


checkout_with_token = _lean_post(CheckoutView)


# --- Add to cart --------------------------------------------------------------------------------

_cart_api_view = CartItemsView()
#: `CartSerializer`'s money fields (all alike): the same field renders the same string.
_money_field = CartSerializer().fields["total"]


def _money(value) -> str:
    """`_money_field`'s rendering of `value`. A Decimal of cents within the field's digits, as
    every amount of a cart is (prices, and sums of `quantize`d amounts), is one the field's
    quantize leaves as it is: rendered here as the field then renders it ('{:f}'), for a
    tenth of its CPU (it copies a decimal context per value). Anything else goes to the field."""
    places = _money_field.decimal_places
    if (
        type(value) is Decimal
        and value.as_tuple().exponent == -places
        and value.adjusted() < _money_field.max_digits - places
    ):
        return f"{value:f}"
    return _money_field.to_representation(value)


def _add_fields(data: dict) -> tuple[int, int]:
    """(sku, quantity) as `CartItemAddSerializer` validates them. The plain case (whole
    numbers in the fields' ranges, as a client sends them) is read directly, the serializer
    giving exactly these values; anything else goes through the serializer (its 400)."""
    sku, quantity = data.get("sku"), data.get("quantity", 1)
    if type(sku) is int and 1 <= sku <= MAX_ID and type(quantity) is int:
        return sku, quantity
    fields = validated(CartItemAddSerializer, data)
    return fields["sku"], fields["quantity"]


def cart_body(cart: dict) -> dict:
    """`CartSerializer(view).data` from the cart as plain values (`selectors.cart_plain_after_add`:
    its keys, in its order, amounts as Decimals): the amounts rendered as the serializer's
    fields render them, in place. The same JSON for a fraction of the CPU: DRF builds and
    binds a field per value (a cart of 2 lines: 284 µs against 33 for a plain dict, measured
    for issue #12), and the CartView it reads is made of model instances. A field
    added to `CartSerializer` must be added to the plain cart: a test compares the two over
    carts of every shape."""
    for shop in cart["shops"]:
        for line in shop["lines"]:
            line["unit_price"], line["line_total"] = _money(line["unit_price"]), _money(line["line_total"])
        shop["subtotal"], shop["shipping"], shop["total"] = map(
            _money, (shop["subtotal"], shop["shipping"], shop["total"])
        )
    cart["goods_total"], cart["shipping_total"], cart["total"] = map(
        _money, (cart["goods_total"], cart["shipping_total"], cart["total"])
    )
    return cart


@csrf_exempt  # token authentication only: no cookie, nothing to forge
def cart_items_with_token(request):
    """`CartItemsView.post` with an API token (module docstring): 201 with the whole cart, or
    the API's refusal; 1 statement on a reused connection (the add, which also reads the cart:
    `cart_add(read_lines=True)`; a second when a concurrent change made that read stale)."""
    data = _plain_data(request)
    if data is None:
        return _api_view(request)
    user = _buyer(request, CachedTokenAuthentication)
    if user is None:
        return _api_view(request)
    request.user = user  # the throttles key a signed-in caller by it
    if not _under_rate(request, _cart_api_view):
        return _api_view(request)
    try:
        sku, quantity = _add_fields(data)
        item = services.cart_add(buyer=user, sku_id=sku, quantity=quantity, read_lines=True)
        body = cart_body(selectors.cart_plain_after_add(item))
    except Exception as error:
        response = exception_handler(error, {"view": None, "request": request})
        if response is None:
            raise
        headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
        return _answer(response.data, response.status_code, headers)
    return _answer(body, 201, {})
