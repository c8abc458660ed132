"""Orders API for buyers (/api/v1/orders/): cart, checkout, orders and payment, cancelling
and confirming, after-sales and reviews; the merchant's answers to after-sales requests;
and the payment gateway's callback.

Views check who is asking (permissions.py) and the shape of input (serializers.py), and
call one service each; every refusal comes from a service as a `DomainError` with a stable
code and leaves the data unchanged. Rows come from selectors given the caller, so another
buyer's (or merchant's) ids answer 404; staff use the admin and get 404 here too.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import warehouse_list_for_merchant
from marketplace.api import validated
from marketplace.jobs import enqueue_on_commit
from marketplace.money import ZERO
from marketplace.sandbox import sandbox_required
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import selectors, services
from ..choices import OrderStatus
from ..errors import OrderError
from ..gateways.base import InvalidCallback, MalformedCallback
from ..gateways.sandbox import SandboxGateway, get_gateway
from ..models import BuyerOrder
from ..tasks import LEDGER_POST_TASK
from .answers import buyer_order_body
from .permissions import IsBuyer, orders_member
from .serializers import (
    MAX_ID,
    AcceptSerializer,
    AfterSalesCreateSerializer,
    AfterSalesSerializer,
    BuyerMerchantOrderSerializer,
    BuyerOrderDetailSerializer,
    BuyerOrderSerializer,
    CallbackAnswerSerializer,
    CancelSerializer,
    CartItemAddSerializer,
    CartItemUpdateSerializer,
    CartPricingQuerySerializer,
    CartPricingSerializer,
    CartSerializer,
    CheckoutSerializer,
    PaymentSerializer,
    RejectSerializer,
    ReturnReceivedSerializer,
    ReviewInputSerializer,
    ReviewPhotosInputSerializer,
    ReviewSerializer,
    SandboxCallbackSerializer,
    StatementSerializer,
)

TAGS = ["orders (buyer)"]
BUYER = "For signed-in buyers (staff get 404): only the caller's own orders; another buyer's id is not found. "
MERCHANT = "For the owner and orders members of the order's merchant; anyone else gets 404. "
ACCESS_ERRORS = ("not_authenticated", "not_found")
CART_ERRORS = ("validation_error", "invalid_quantity", "sku_unavailable")
#: A picture refused by catalog.images (the review form's and after-sales photos' checks).
PHOTO_ERRORS = ("file_too_large", "file_type_not_allowed", "image_too_large", "file_corrupt")


ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
SKU_ID = OpenApiParameter("sku_id", OpenApiTypes.INT, OpenApiParameter.PATH)
NUMBER = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH, description="Buyer order number.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="8 to 100 characters, new for every order. Sending the same key and body again answers the "
    "first order (200) instead of placing another.",
)


# --- Cart ---------------------------------------------------------------------------------------


def _cart_answer(cart, status_code=status.HTTP_200_OK) -> Response:
    """The whole cart (one query: `cart_view`), after a change as after a GET."""
    return Response(CartSerializer(selectors.cart_view(cart)).data, status=status_code)


@extend_schema(tags=TAGS)
class CartView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(
        summary="My cart",
        description=BUYER
        + "Grouped by shop, with current prices, availability and each shop's shipping. "
        + codes(*ACCESS_ERRORS),
        responses={200: CartSerializer, **errors(401, 404)},
    )
    def get(self, request):
        return Response(CartSerializer(selectors.cart_view_of(buyer=request.user)).data)


@extend_schema(tags=TAGS)
class CartPricingView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(
        summary="My cart's price with promotions and a coupon",
        description=BUYER
        + "The cart's orderable lines priced as checkout would price them now: the promotions applied, your "
        "flash-sale holds (the held units at the special price, no other promotion on that line: "
        "`flash_discount`) and the total to pay. With `coupon` (the id of one of your coupons) or `coupon_code` (your coupon's code, or a "
        "public code) the coupon's discount is included; when it gives nothing, `coupon_error` says why (the "
        "codes checkout answers with: `coupon_min_spend_not_reached`, `coupon_not_applicable`, `coupon_expired`, "
        "`coupon_code_unknown`, ...). Writes nothing: a public code is not claimed. "
        + codes(*ACCESS_ERRORS, "validation_error"),
        parameters=[CartPricingQuerySerializer],
        responses={200: CartPricingSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        data = validated(CartPricingQuerySerializer, request.query_params)
        view = selectors.cart_view_of(buyer=request.user)
        pricing = services.cart_pricing_with_coupon(
            view, buyer=request.user, coupon_id=data.get("coupon"), code=data.get("coupon_code", "")
        )
        names = pricing.names
        applied = [
            # A public code's coupon-to-be has no id yet (it is claimed at placement).
            {
                "promotion_id": a.promotion_id,
                "name": names.get(a.promotion_id, ""),
                "amount": a.amount,
                "coupon_id": a.coupon_id or None,
            }
            for a in pricing.applied
        ]
        error = pricing.coupon_error
        answer = {
            "goods_total": pricing.goods_total,
            "discount_total": pricing.discount_total,
            "shipping_total": pricing.shipping_total,
            "total": pricing.total,
            "applied": applied,
            "coupon_discount": pricing.coupon_discount if error is None else ZERO,
            "flash_discount": pricing.flash_total,
            "coupon_error": error.as_dict() if error else None,
        }
        return Response(CartPricingSerializer(answer).data)


@extend_schema(tags=TAGS)
class CartItemsView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(
        summary="Add to my cart",
        description=BUYER + "Merged with the SKU's line, capped at 999 units; a cart holds at most 100 different SKUs "
        "(`cart_full`). Answers the whole cart. " + codes(*ACCESS_ERRORS, *CART_ERRORS, "cart_full"),
        request=CartItemAddSerializer,
        responses={201: CartSerializer, **errors(400, 401, 404)},
    )
    def post(self, request):
        data = validated(CartItemAddSerializer, request.data)
        item = services.cart_add(buyer=request.user, sku_id=data["sku"], quantity=data["quantity"], read_lines=True)
        # The whole cart as the add's own statement read it (no query of its own).
        return Response(CartSerializer(selectors.cart_view_after_add(item)).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS, parameters=[SKU_ID])
class CartItemView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(
        summary="Change a cart line",
        description=BUYER
        + "Sets the quantity; 0 removes the line. Answers the whole cart. "
        + codes(*ACCESS_ERRORS, *CART_ERRORS, "not_in_cart"),
        request=CartItemUpdateSerializer,
        responses={200: CartSerializer, **errors(400, 401, 404)},
    )
    def patch(self, request, sku_id: int):
        data = validated(CartItemUpdateSerializer, request.data)
        cart = selectors.cart_find(buyer=request.user)  # none yet: `not_in_cart`, and none created
        services.cart_update(cart=cart, sku_id=sku_id, quantity=data["quantity"])
        return _cart_answer(cart)

    @extend_schema(
        summary="Remove a cart line",
        description=BUYER + "Works for a SKU no longer on sale too. Answers the whole cart; a SKU not in the "
        "cart is not found. " + codes(*ACCESS_ERRORS),
        request=None,
        responses={200: CartSerializer, **errors(401, 404)},
    )
    def delete(self, request, sku_id: int):
        cart = selectors.cart_find(buyer=request.user)
        if cart is None or not services.cart_remove(cart=cart, sku_id=sku_id):
            raise NotFound()
        return _cart_answer(cart)


# --- Checkout -----------------------------------------------------------------------------------


#: `CheckoutSerializer`'s bound on the number of items.
_CHECKOUT_ITEMS_MAX = CheckoutSerializer().fields["items"].max_length


def _is_id(value) -> bool:
    return type(value) is int and 1 <= value <= MAX_ID


def _checkout_fields(data) -> dict:
    """The checkout body as `CheckoutSerializer` validates it. The plain body (an address id
    and items of a SKU id and a whole-number quantity, no coupon field, as a client sends it)
    is read directly, the serializer giving exactly these values for it (a third of a
    millisecond a checkout); anything else goes through the serializer (its 400)."""
    if not isinstance(data, dict):
        return validated(CheckoutSerializer, data)
    items = data.get("items")
    if (
        _is_id(data.get("address"))
        and type(items) is list
        and 1 <= len(items) <= _CHECKOUT_ITEMS_MAX
        and "coupon" not in data
        and "coupon_code" not in data
        and all(type(item) is dict and _is_id(item.get("sku")) and type(item.get("quantity")) is int for item in items)
    ):
        return {
            "address": data["address"],
            "items": [{"sku": item["sku"], "quantity": item["quantity"]} for item in items],
            "coupon_code": "",
        }
    return validated(CheckoutSerializer, data)


@extend_schema(tags=TAGS)
class CheckoutView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(
        summary="Place an order",
        description=BUYER
        + "Places one buyer order (one merchant order per shop) and reserves the stock; the ordered SKUs "
        "leave the caller's cart. Idempotent per `Idempotency-Key`: 201 with the order the first time, "
        "200 with the same order when the same key and body come again, 422 `idempotency_key_reused` for "
        "another body, 409 `request_in_progress` while the first request with the key still runs, 409 "
        '`insufficient_stock` (`extra.lines`: `[{"sku", "requested", "available"}]`) when stock is short. '
        "With `coupon` (the id of one of your coupons) or `coupon_code` (your coupon's code, or a public code, "
        "claimed with the order) the coupon's discount is applied and the coupon used; when it does not apply "
        "the answer says why (`coupon_min_spend_not_reached` with `extra.missing`, `coupon_not_applicable`, "
        "`coupon_expired`, ...) and a coupon another checkout used first is 409 `coupon_unavailable`. "
        + codes(
            *ACCESS_ERRORS,
            "validation_error",
            "idempotency_key_required",
            "invalid_idempotency_key",
            "invalid_address",
            "invalid_quantity",
            "empty_order",
            "too_many_lines",
            "sku_unavailable",
            "insufficient_stock",
            "request_in_progress",
            "idempotency_key_reused",
            "coupon_not_found",
            "coupon_code_unknown",
            "coupon_unavailable",
            "coupon_expired",
            "coupon_not_started",
            "coupon_not_applicable",
            "coupon_min_spend_not_reached",
            "coupon_min_quantity_not_reached",
            "coupon_used_up",
            "coupon_limit_reached",
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutSerializer,
        responses={
            201: BuyerOrderDetailSerializer,
            200: BuyerOrderDetailSerializer,
            **errors(400, 401, 404, 409, 422),
        },
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "")
        if not key.strip():
            raise OrderError(
                "idempotency_key_required", _("Send an Idempotency-Key header: a new random key for every order.")
            )
        data = _checkout_fields(request.data)
        body = {
            "address": data["address"],
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in data["items"]],
        }
        coupon_id, coupon_code = data.get("coupon"), data["coupon_code"].strip()
        if coupon_id is not None or coupon_code:
            # Only with a coupon, so the fingerprints of requests without one do not change.
            body["coupon"], body["coupon_code"] = coupon_id, coupon_code
        # The address is read with the key's lock, in the checkout's transaction (one
        # statement and one commit fewer); not one of the caller's: 400 `invalid_address`.
        order, created = services.cart_checkout(
            buyer=request.user,
            key=key,
            fingerprint=services.request_fingerprint(body),
            address_id=data["address"],
            items=[services.CheckoutItem(i["sku"], i["quantity"]) for i in data["items"]],
            coupon_id=coupon_id,
            coupon_code=coupon_code,
        )
        # A new order comes with every row it shows attached (checkout_place): answered without
        # reading it back, as a plain dict (`buyer_order_body`: the serializer's JSON for a fifth
        # of the CPU, 2 ms a checkout). A replay reads the stored order, as its page would.
        if created:
            return Response(buyer_order_body(order), status=status.HTTP_201_CREATED)
        detail = found_or_404(selectors.buyer_order_get(request.user, order.number))
        return Response(BuyerOrderDetailSerializer(detail).data, status=status.HTTP_200_OK)


# --- Buyer orders and payment -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="My orders",
        description=BUYER
        + "Newest first, each with its merchant orders and their lines; `status` keeps orders with a merchant "
        "order in that state. " + codes(*ACCESS_ERRORS, "validation_error"),
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=OrderStatus.values)],
        responses={200: BuyerOrderSerializer(many=True), **errors(400, 401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my orders",
        description=BUYER + "With the shipments of each merchant order. " + codes(*ACCESS_ERRORS),
        parameters=[NUMBER],
        responses={200: BuyerOrderDetailSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class BuyerOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsBuyer]
    serializer_class = BuyerOrderSerializer
    queryset = BuyerOrder.objects.none()  # for the schema generator: requests use the selectors
    filter_backends: list = []
    lookup_field = "number"
    lookup_value_converter = "token"

    def get_queryset(self):
        state = self.request.query_params.get("status", "")
        if state and state not in OrderStatus.values:
            raise ValidationError({"status": [_("Unknown status.")]})
        return selectors.buyer_order_list(self.request.user, status=state)

    def retrieve(self, request, number=None):
        return Response(BuyerOrderDetailSerializer(found_or_404(selectors.buyer_order_get(request.user, number))).data)

    @extend_schema(
        summary="Pay an order",
        description=BUYER + "Starts (or, while pending, reuses) a payment of the order's total; send the buyer to "
        "`payment_url`. The order is paid when the gateway's callback arrives. "
        + codes(*ACCESS_ERRORS, "not_payable", "payment_time_over", "sandbox_disabled"),
        parameters=[NUMBER],
        request=None,
        responses={200: PaymentSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, number=None):
        payment = services.payment_start(buyer_order=found_or_404(selectors.payment_order_get(request.user, number)))
        payment.payment_url = request.build_absolute_uri(get_gateway(payment.gateway).payment_url(payment))
        return Response(PaymentSerializer(payment).data)


@extend_schema(tags=TAGS, parameters=[ID])
class BuyerMerchantOrderViewSet(viewsets.GenericViewSet):
    """The buyer's actions on one shop's part of an order."""

    permission_classes = [IsBuyer]
    serializer_class = BuyerMerchantOrderSerializer

    def get_object(self):
        return found_or_404(selectors.merchant_order_get_for_buyer_by_id(self.request.user, self.kwargs["pk"]))

    def _answer(self, order) -> Response:
        fresh = found_or_404(selectors.merchant_order_get_for_buyer_by_id(self.request.user, order.pk))
        return Response(BuyerMerchantOrderSerializer(fresh).data)

    @extend_schema(
        summary="Cancel before shipping",
        description=BUYER
        + "Unpaid: the whole buyer order is cancelled. Paid: this merchant order is cancelled and refunded "
        "in full, shipping too. Reserved stock is released; a parcel shared with other orders keeps their goods. "
        + codes(*ACCESS_ERRORS, "validation_error", "invalid_transition"),
        request=CancelSerializer,
        responses={200: BuyerMerchantOrderSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        target = self.get_object()
        data = validated(CancelSerializer, request.data)
        order = services.merchant_order_cancel_by_buyer(order=target, buyer=request.user, reason=data["reason"])
        return self._answer(order)

    @extend_schema(
        summary="Confirm receipt",
        description=BUYER + "Completes a shipped or delivered order. " + codes(*ACCESS_ERRORS, "invalid_transition"),
        request=None,
        responses={200: BuyerMerchantOrderSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="confirm-receipt")
    def confirm_receipt(self, request, pk=None):
        return self._answer(services.merchant_order_confirm_receipt(order=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Ask for a refund or a return",
        description=BUYER
        + "Once the order has shipped; each line once; per line at most what is still refundable (paid, less "
        "refunds) and, for a return, at most the units shipped and not yet returned; shipping at most the fee "
        "less what was refunded; one open request per order. The merchant answers within 48 hours, else it is "
        "accepted automatically. "
        + codes(
            *ACCESS_ERRORS,
            "validation_error",
            "invalid_kind",
            "reason_required",
            "unknown_line",
            "duplicate_line",
            "invalid_quantity",
            "invalid_amount",
            "refund_exceeds_paid",
            "return_exceeds_shipped",
            "no_lines",
            "shipping_refund_too_large",
            "invalid_transition",
            "after_sales_already_open",
        ),
        request=AfterSalesCreateSerializer,
        responses={201: AfterSalesSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="after-sales")
    def after_sales(self, request, pk=None):
        order = self.get_object()
        data = validated(AfterSalesCreateSerializer, request.data)
        created = services.after_sales_request_create(
            order=order,
            buyer=request.user,
            kind=data["kind"],
            reason=data["reason"],
            items=[(i["order_line"], i["quantity"], i["amount"]) for i in data["items"]],
            shipping_amount=data["shipping_amount"],
        )
        fresh = found_or_404(selectors.after_sales_get_for_buyer_by_id(request.user, created.pk))
        return Response(AfterSalesSerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- After-sales --------------------------------------------------------------------------------


@extend_schema(tags=["orders (after-sales)"], parameters=[ID])
class AfterSalesViewSet(viewsets.GenericViewSet):
    """A request: the buyer who made it and the order's merchant see it; each answers their part."""

    permission_classes = [IsBuyer]
    serializer_class = AfterSalesSerializer

    def _for_merchant(self):
        member = orders_member(self.request)
        if member is None:
            raise NotFound()
        return member.merchant, found_or_404(selectors.after_sales_get_for_merchant(member.merchant, self.kwargs["pk"]))

    def _answer(self, item, *, merchant=None) -> Response:
        if merchant is not None:
            fresh = found_or_404(selectors.after_sales_get_for_merchant(merchant, item.pk))
        else:
            fresh = found_or_404(selectors.after_sales_get_for_buyer_by_id(self.request.user, item.pk))
        return Response(AfterSalesSerializer(fresh).data)

    @extend_schema(
        summary="Get an after-sales request",
        description="For the buyer who made it and the order's merchant (owner, orders members); anyone else "
        "gets 404. " + codes(*ACCESS_ERRORS),
        responses={200: AfterSalesSerializer, **errors(401, 404)},
    )
    def retrieve(self, request, pk=None):
        try:
            item = found_or_404(selectors.after_sales_get_for_buyer_by_id(request.user, pk))
        except Http404:
            merchant, item = self._for_merchant()  # not the caller's request: maybe their shop's
            return self._answer(item, merchant=merchant)
        return self._answer(item)

    @extend_schema(
        summary="Escalate to a dispute (buyer)",
        description=BUYER
        + "After the merchant rejected the request: the platform decides, and the order's money is frozen "
        "until then. " + codes(*ACCESS_ERRORS, "validation_error", "statement_required", "invalid_transition"),
        request=StatementSerializer,
        responses={200: AfterSalesSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        item = found_or_404(selectors.after_sales_get_for_buyer_by_id(request.user, pk))
        data = validated(StatementSerializer, request.data)
        services.after_sales_escalate(request=item, buyer=request.user, statement=data["statement"])
        return self._answer(item)

    @extend_schema(
        summary="Accept a request (merchant)",
        description=MERCHANT
        + "A refund is paid at once; a return waits for the goods (`return-received`). The request is checked "
        "again against what remains refundable and returnable. "
        + codes(
            *ACCESS_ERRORS,
            "validation_error",
            "refund_exceeds_paid",
            "return_exceeds_shipped",
            "shipping_refund_too_large",
            "duplicate_line",
            "invalid_transition",
        ),
        request=AcceptSerializer,
        responses={200: AfterSalesSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        merchant, item = self._for_merchant()
        data = validated(AcceptSerializer, request.data)
        services.after_sales_accept(request=item, merchant=merchant, actor=request.user, note=data["note"])
        return self._answer(item, merchant=merchant)

    @extend_schema(
        summary="Reject a request (merchant)",
        description=MERCHANT
        + "With a reason the buyer sees; the buyer may then escalate. "
        + codes(*ACCESS_ERRORS, "validation_error", "reason_required", "invalid_transition"),
        request=RejectSerializer,
        responses={200: AfterSalesSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        merchant, item = self._for_merchant()
        data = validated(RejectSerializer, request.data)
        services.after_sales_reject(request=item, merchant=merchant, actor=request.user, note=data["reason"])
        return self._answer(item, merchant=merchant)

    @extend_schema(
        summary="Returned goods received (merchant)",
        description=MERCHANT
        + "The goods go back to stock in the warehouse given (once: never more than shipped) and the refund is "
        "paid. "
        + codes(
            *ACCESS_ERRORS, "validation_error", "invalid_transition", "return_exceeds_shipped", "warehouse_inactive"
        ),
        request=ReturnReceivedSerializer,
        responses={200: AfterSalesSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="return-received")
    def return_received(self, request, pk=None):
        merchant, item = self._for_merchant()
        data = validated(ReturnReceivedSerializer, request.data)
        warehouse = warehouse_list_for_merchant(merchant).filter(pk=data["warehouse"]).first()
        if warehouse is None:
            raise ValidationError({"warehouse": [_("No open warehouse with this id is available to you.")]})
        services.after_sales_return_received(request=item, merchant=merchant, actor=request.user, warehouse=warehouse)
        return self._answer(item, merchant=merchant)


# --- Reviews ------------------------------------------------------------------------------------


@extend_schema(tags=TAGS, parameters=[ID])
class OrderLineViewSet(viewsets.GenericViewSet):
    permission_classes = [IsBuyer]
    serializer_class = ReviewSerializer

    @extend_schema(
        summary="Review a line",
        description=BUYER
        + "1 to 5 stars, once per line, when the order is completed. As JSON, or as `multipart/form-data` "
        "with up to 5 pictures (one `photos` part each, PNG or JPEG, checked as the review form's: type, "
        "size, pixels, number). A refused picture refuses the whole review: nothing is written. "
        + codes(
            *ACCESS_ERRORS,
            "validation_error",
            "invalid_rating",
            "text_too_long",
            "too_many_photos",
            *PHOTO_ERRORS,
            "invalid_transition",
            "already_reviewed",
        ),
        request={"application/json": ReviewInputSerializer, "multipart/form-data": ReviewPhotosInputSerializer},
        responses={201: ReviewSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        line = found_or_404(selectors.order_line_get_for_buyer_by_id(request.user, pk))
        # A JSON body carries no file: its `photos`, if any, is refused as not a file.
        data = validated(ReviewPhotosInputSerializer, request.data)
        review = services.review_create(
            order_line=line, buyer=request.user, rating=data["rating"], text=data["text"], photos=data["photos"]
        )
        return Response(ReviewSerializer(review, context={"request": request}).data, status=status.HTTP_201_CREATED)


# --- Gateway callback ---------------------------------------------------------------------------


@extend_schema(tags=["payments"])
class SandboxCallbackView(APIView):
    """Called by the sandbox gateway, not by users: no session, no CSRF; the signature is
    the authentication. Throttling is off: a gateway sends bursts from few addresses, and a
    forged call costs one HMAC. The route exists only while the sandbox is enabled (404)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Sandbox gateway callback",
        description='Signed with `X-Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw '
        "body>`; checked on the raw body, then applied once per event id (a replay answers `duplicate` and "
        "changes nothing). `amount` is a string or number with at most two decimal places, equal to the "
        "payment's; a refused callback writes nothing. Exists only while the sandbox gateway is enabled "
        "(404 otherwise). "
        + codes(
            "invalid_signature",
            "malformed_callback",
            "invalid_event_id",
            "invalid_event_kind",
            "invalid_payment_reference",
            "invalid_amount",
            "amount_mismatch",
        ),
        request=SandboxCallbackSerializer,
        responses={200: CallbackAnswerSerializer, **errors(400, 404)},
    )
    @method_decorator(sandbox_required)
    def post(self, request):
        # The raw bytes, before any parsing: the signature covers them exactly.
        raw = request.body
        try:
            event = SandboxGateway().parse_callback(headers=request.headers, raw_body=raw)
        except InvalidCallback as exc:
            raise OrderError("invalid_signature", _("The callback's signature is not valid.")) from exc
        except MalformedCallback as exc:
            raise OrderError(exc.code, _("The callback's body is not a valid payment event.")) from exc
        outcome = services.gateway_event_process(gateway=SandboxGateway.name, event=event)
        # The capture's journal entry follows within seconds (settlements posts it).
        enqueue_on_commit(LEDGER_POST_TASK)
        return Response({"outcome": outcome})
