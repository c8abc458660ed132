"""Buyer pages of the storefront: cart, checkout, payment, my orders, after-sales, addresses.

The cart works without an account (it follows the session and joins the buyer's cart at
login); every other page needs a login. Order pages find their rows through the buyer-scoped
selectors, so a buyer only ever reaches their own orders and anyone else's numbers answer
404 (staff too: they use the admin). Forms check shape, each POST calls one service, and a
`DomainError` becomes a form error or a message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.jobs import enqueue_on_commit
from marketplace.money import ZERO
from marketplace.sandbox import sandbox_enabled, sandbox_required
from marketplace.shortcuts import found_or_404
from promotions.selectors import coupon_list_for_buyer, flash_holds_live_for_buyer

from . import selectors, services
from .choices import GIFT_OUT_OF_STOCK_EVENT, BuyerOrderStatus, PaymentStatus
from .errors import IdempotencyMismatch, RequestInProgress
from .forms import (
    AddressForm,
    AddToCartForm,
    AfterSalesForm,
    CancelForm,
    CartRemoveForm,
    CartUpdateForm,
    CheckoutForm,
    ComplaintForm,
    EscalateForm,
    OrderFilterForm,
    ReviewForm,
    SandboxPayForm,
)
from .gateways import sandbox
from .gateways.base import InvalidCallback, MalformedCallback
from .gateways.sandbox import get_gateway
from .tasks import LEDGER_POST_TASK

ORDERS_PER_PAGE = 10
GET_POST = require_http_methods(["GET", "POST"])
# Contextual: "Paid", "Cancelled"... already have other meanings in the catalogues.
EVENT_LABELS = {
    "place": pgettext_lazy("order event", "Order placed"),
    "pay": pgettext_lazy("order event", "Paid"),
    "ship": pgettext_lazy("order event", "Shipped"),
    "deliver": pgettext_lazy("order event", "Delivered"),
    "complete": pgettext_lazy("order event", "Completed"),
    "cancel": pgettext_lazy("order event", "Cancelled"),
    "merge": pgettext_lazy("order event", "Packed together with another order"),
    GIFT_OUT_OF_STOCK_EVENT: pgettext_lazy("order event", "A gift was out of stock"),
}
PAYMENT_OUTCOMES = {
    "paid": (messages.SUCCESS, gettext_lazy("Payment received. The shops will now prepare your parcels.")),
    "failed": (messages.WARNING, gettext_lazy("The payment failed. Nothing was charged; you can try again.")),
    "already_paid": (messages.INFO, gettext_lazy("This order is already paid.")),
}


def _attempt(request, call, success) -> bool:
    """Run one service call; its refusal becomes an error message, success a success message."""
    try:
        call()
    except DomainError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, success)
    return True


def _next_url(request, candidate: str | None, fallback: str) -> str:
    """A path of this site to go back to, else `fallback`. Only a path ("/…"): redirect()
    reads a string without "/" or "." as a view name, and an unknown one answered 500."""
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return fallback


def _find_cart(request):
    return selectors.cart_find(buyer=request.user, session_key=request.session.session_key)


def merge_cart_on_login(sender, request, user, **kwargs):
    """`user_logged_in` receiver (connected in apps.py): the anonymous cart joins the buyer's."""
    session = getattr(request, "session", None)
    if session is None:
        return
    result = services.cart_merge(session_key=session.pop(services.SESSION_CART_KEY, None), buyer=user)
    if result.dropped:
        # fail_silently: logins outside a page request (tests, scripts) carry no message store.
        messages.warning(
            request,
            _("Some items of your cart were left out: they are no longer on sale, or your cart is full."),
            fail_silently=True,
        )


# --- Cart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlashLinePricing:
    """A flash line's discount as the cart shows it (the engine's lines have the same field)."""

    discount: Decimal


FLASH_SALE = pgettext_lazy("cart line", "Flash sale")


def _flash_holds(buyer) -> list | None:
    """The buyer's live flash-sale holds, read once per page: the `{% flash_holds %}` box
    shows them and the breakdown prices them (none, and no query, for a visitor or staff)."""
    if buyer is None or not buyer.is_authenticated:
        return []
    if buyer.is_staff:
        return None  # the box hides them; the breakdown reads them as a checkout would use them
    return flash_holds_live_for_buyer(buyer)


def _cart_breakdown(view, buyer, *, coupon_id=None, coupon_code: str = "", holds=None) -> dict:
    """What promotions give the cart, as checkout would price it now (`selectors.cart_pricing`,
    no query when none is live for its shops): each line gets its `promotion` (the engine's
    line: discount and the promotions that gave it), each shop its `pricing` (goods, discount,
    shipping after free shipping); the applied promotions with their names and the gifts.
    With the buyer's chosen coupon (`cart_pricing_with_coupon`, nothing written) its discount
    is in the breakdown, or `coupon_error` says why it gives nothing. A line the buyer holds
    flash-sale units of shows its flash discount (`holds`: as `_flash_holds` read them)."""
    pricing = services.cart_pricing_with_coupon(view, buyer=buyer, coupon_id=coupon_id, code=coupon_code, holds=holds)
    result = pricing.result
    coupon = {
        "coupon_error": pricing.coupon_error and pricing.coupon_error.message,
        "missed_gifts": pricing.missed_gifts,
    }
    if pricing.coupon is not None and not pricing.coupon_error:
        coupon["coupon_discount"] = pricing.coupon_discount
    if not pricing.saved:
        return {"pricing": None, **coupon}
    names = pricing.names
    for line in view.lines:
        priced = (
            next((p for p in result.lines if p.key == str(line.sku.pk) and not p.is_gift), None) if result else None
        )
        line.promotion = priced if priced is not None and priced.discount else None
        line.promotion_names = [names[pk] for pk in priced.promotion_ids if pk in names] if line.promotion else []
        if line.sku.pk in pricing.flash:
            line.promotion = FlashLinePricing(discount=pricing.flash_discount(line.sku.pk))
            line.promotion_names = [FLASH_SALE]
    by_shop = {shop.merchant_id: shop for shop in pricing.shops}
    for shop in view.shops:
        shop.pricing = by_shop.get(shop.merchant.pk)
    applied = [{"name": names.get(a.promotion_id, ""), "amount": a.amount, "level": a.level} for a in pricing.applied]
    if pricing.flash_total:
        applied.append({"name": FLASH_SALE, "amount": pricing.flash_total, "level": None})
    gifts = [{"name": names.get(g.promotion_id, ""), "value": g.gross} for g in pricing.gifts]
    return {"pricing": pricing, "applied": applied, "gifts": gifts, "saved": pricing.saved, **coupon}


@require_safe
def cart(request):
    view = selectors.cart_view_of(buyer=request.user, session_key=request.session.session_key)
    buyer = request.user if request.user.is_authenticated else None
    # The coupon to preview: one of the buyer's (by code, from the list) or a public code.
    coupon_code = request.GET.get("coupon", "").strip().upper()[:32] if buyer else ""
    holds = _flash_holds(buyer)
    context = {
        "cart": view,
        "max_quantity": services.MAX_QUANTITY,
        "coupon_code": coupon_code,
        "flash_holds": holds,
        **_cart_breakdown(view, buyer, coupon_code=coupon_code, holds=holds),
    }
    return render(request, "storefront/orders/cart.html", context)


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    back = _next_url(request, request.POST.get("next"), reverse("orders:cart"))
    if not form.is_valid():
        messages.error(
            request, _("Choose an option and a quantity from 1 to %(max)s.") % {"max": services.MAX_QUANTITY}
        )
        return redirect(back)
    try:
        item = services.cart_add(
            sku_id=form.cleaned_data["sku"],
            quantity=form.cleaned_data["quantity"],
            buyer=request.user,
            session=request.session,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back)
    if item.quantity == services.MAX_QUANTITY:
        messages.warning(request, _("Your cart holds at most %(max)s of one item.") % {"max": services.MAX_QUANTITY})
    else:
        messages.success(request, _("Added to your cart."))
    return redirect(back)


@require_POST
def cart_update(request):
    form, current = CartUpdateForm(request.POST), _find_cart(request)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity from 0 to %(max)s.") % {"max": services.MAX_QUANTITY})
    elif current is not None:
        _attempt(
            request,
            lambda: services.cart_update(
                cart=current, sku_id=form.cleaned_data["sku"], quantity=form.cleaned_data["quantity"]
            ),
            _("Cart updated."),
        )
    return redirect("orders:cart")


@require_POST
def cart_remove(request):
    form, current = CartRemoveForm(request.POST), _find_cart(request)
    if form.is_valid() and current is not None:
        services.cart_remove(cart=current, sku_id=form.cleaned_data["sku"])
        messages.success(request, _("Removed from your cart."))
    return redirect("orders:cart")


# --- Checkout --------------------------------------------------------------------------


def _checkout_errors(error: DomainError, view: selectors.CartView) -> list[str]:
    """The refusal in the buyer's words, naming the items concerned."""
    names = {line.sku.pk: f"{line.sku.product.title} ({line.sku.label})" for line in view.lines}
    if error.code == "insufficient_stock":
        return [
            _("%(item)s: you asked for %(requested)s, only %(available)s available.")
            % {"item": names.get(row["sku"], row["sku"]), "requested": row["requested"], "available": row["available"]}
            for row in error.extra.get("lines", [])
        ] or [str(error.message)]
    if error.code == "sku_unavailable":
        return [
            _("%(item)s is no longer on sale; remove it from your cart.") % {"item": names.get(sku, sku)}
            for sku in error.extra.get("skus", [])
        ] or [str(error.message)]
    if isinstance(error, IdempotencyMismatch):
        return [
            _("This checkout page was already used for another order. Check the summary and place the order again.")
        ]
    return [str(error.message)]


@login_required
@GET_POST
def checkout(request):
    view = selectors.cart_view(selectors.cart_find(buyer=request.user))
    addresses = selectors.address_list(request.user)
    errors, status, chosen = [], 200, None
    if request.method == "POST":
        form = CheckoutForm(request.POST, addresses=addresses)
        if form.is_valid():
            data = form.cleaned_data
            items, chosen = data["items"], data["address"]
            coupon_code = data["coupon_code"].strip().upper()
            body = {"address": chosen.pk, "items": [[item.sku_id, item.quantity] for item in items]}
            if coupon_code:
                body["coupon_code"] = coupon_code  # only with one: the fingerprints without stay as they were
            fingerprint = services.request_fingerprint(body)
            try:
                order, _created = services.cart_checkout(
                    buyer=request.user,
                    key=data["key"],
                    fingerprint=fingerprint,
                    address=chosen,
                    items=items,
                    coupon_code=coupon_code,
                )
            except RequestInProgress:
                return redirect("orders:checkout_placing", key=data["key"])
            except DomainError as error:
                errors, status = _checkout_errors(error, view), error.status_code
            else:
                for part in order.merchant_orders.all():
                    for gift in getattr(part, "missed_gifts", ()):  # a replayed order: told the first time
                        messages.warning(request, selectors.missed_gift_message(gift))
                return redirect("orders:pay", number=order.number)
        else:
            errors, status = [str(e) for field_errors in form.errors.values() for e in field_errors], 400
    # Each rendering carries a new key and the cart as it is now: a refused attempt is
    # corrected and submitted as a new one.
    default = chosen or next(iter(addresses), None)
    form = CheckoutForm(
        addresses=addresses,
        initial={
            "key": uuid.uuid4().hex,
            "items": CheckoutForm.encode_items(view.items),
            "address": default.pk if default else None,
            # A refused coupon stays in the box, with the reason above it.
            "coupon_code": request.POST.get("coupon_code", "") or request.GET.get("coupon", ""),
        },
    )
    context = {
        "cart": view,
        "form": form,
        "errors": errors,
        "address_form": AddressForm(initial={"next": request.path}),
        "my_coupons": coupon_list_for_buyer(buyer=request.user)[:50],
    }
    # The cart page's breakdown, with the coupon in the box: the totals as placing the order
    # would charge them now (promotions, flash-sale holds, the coupon).
    holds = _flash_holds(request.user)
    context["flash_holds"] = holds
    context.update(
        _cart_breakdown(
            view, request.user, coupon_code=(form["coupon_code"].value() or "").strip().upper()[:32], holds=holds
        )
    )
    return render(request, "storefront/orders/checkout.html", context, status=status)


@login_required
@require_safe
def checkout_placing(request, key: str):
    """Where a second click lands while the first is still placing the order."""
    order = selectors.checkout_attempt_order(request.user, key)
    if order is not None:
        return redirect("orders:pay", number=order.number)
    return render(request, "storefront/orders/placing.html", {"key": key})


# --- Payment ---------------------------------------------------------------------------


@login_required
@GET_POST
def pay(request, number: str):
    order = found_or_404(selectors.payment_order_get(request.user, number))
    if not order.can_pay:
        if order.status == BuyerOrderStatus.PENDING_PAYMENT:
            messages.error(request, _("The time to pay for this order has passed."))
        else:
            messages.info(request, _("This order is not waiting for payment."))
        return redirect("orders:order_detail", number=number)
    if request.method == "POST":
        try:
            payment = services.payment_start(buyer_order=order)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("orders:order_detail", number=number)
        return redirect(get_gateway(payment.gateway).payment_url(payment))
    # The only gateway shipped is the sandbox: while it is off there is no way to pay online.
    return render(request, "storefront/orders/pay.html", {"order": order, "can_pay_online": sandbox_enabled()})


@sandbox_required
@login_required
@GET_POST
def sandbox_pay(request, reference: str):
    """The sandbox gateway's page, only while the sandbox is enabled. Its buttons send a
    signed callback through the same verification and processing as a real gateway's."""
    payment = found_or_404(selectors.payment_get_for_buyer(request.user, reference))
    if payment.gateway != sandbox.SandboxGateway.name:
        raise Http404("Not a sandbox payment.")
    order = payment.buyer_order
    payable = (
        payment.status == PaymentStatus.PENDING
        and order.status == BuyerOrderStatus.PENDING_PAYMENT
        and timezone.now() < order.pay_by
    )
    if request.method == "POST":
        form = SandboxPayForm(request.POST)
        if not payable or not form.is_valid():
            messages.error(request, _("This payment cannot be made any more."))
            return redirect("orders:order_detail", number=order.number)
        kind = "payment.succeeded" if form.cleaned_data["outcome"] == "pay" else "payment.failed"
        body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount, kind=kind)
        try:
            event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
            outcome = services.gateway_event_process(gateway=sandbox.SandboxGateway.name, event=event)
            # The capture's journal entry follows within seconds (settlements posts it).
            enqueue_on_commit(LEDGER_POST_TASK)
        except (InvalidCallback, MalformedCallback, DomainError):
            messages.error(request, _("The payment could not be verified. Nothing was charged."))
            return redirect("orders:order_detail", number=order.number)
        level, text = PAYMENT_OUTCOMES.get(outcome, (messages.ERROR, gettext_lazy("The payment was not accepted.")))
        messages.add_message(request, level, text)
        return redirect("orders:order_detail", number=order.number)
    return render(
        request, "storefront/orders/sandbox_pay.html", {"payment": payment, "order": order, "payable": payable}
    )


# --- My orders -------------------------------------------------------------------------


@login_required
@require_safe
def order_list(request):
    form = OrderFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    orders = selectors.buyer_order_list(request.user, status=status)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "storefront/orders/order_list.html", {"page": page, "form": form, "status": status})


def _actor_label(event, buyer) -> str:
    if event.actor_id is None:
        return _("Platform")
    if event.actor_id == buyer.pk:
        return _("You")
    return _("Platform") if event.actor.is_staff else _("Shop")


@login_required
@require_safe
def order_detail(request, number: str):
    order = found_or_404(selectors.buyer_order_get(request.user, number))
    for part in order.merchant_orders.all():
        for event in part.events.all():
            event.label = EVENT_LABELS.get(event.action, event.action)
            event.by = _actor_label(event, request.user)
    context = {"order": order, "cancel_form": CancelForm()}
    return render(request, "storefront/orders/order_detail.html", context)


@login_required
@require_POST
def order_cancel(request, number: str, part: str):
    order = found_or_404(selectors.merchant_order_get_for_buyer(request.user, number, part))
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if order.buyer_order.status == BuyerOrderStatus.PENDING_PAYMENT:
        success = _("Your order was cancelled. Nothing was charged.")
    else:
        success = _("This shop's order was cancelled; everything you paid for it is refunded.")
    _attempt(request, lambda: services.buyer_cancel(order=order, buyer=request.user, reason=reason), success)
    return redirect("orders:order_detail", number=number)


@login_required
@require_POST
def order_confirm(request, number: str, part: str):
    order = found_or_404(selectors.merchant_order_get_for_buyer(request.user, number, part))
    _attempt(
        request,
        lambda: services.merchant_order_confirm_receipt(order=order, actor=request.user),
        _("Thank you! The order is completed; you can now review what you bought."),
    )
    return redirect("orders:order_detail", number=number)


def _form_page(request, form, template: str, context: dict, call, success: str, number: str):
    """GET shows the form; a valid POST calls the service and goes back to the order."""
    if request.method == "POST" and form.is_valid():
        try:
            call(form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, success)
            return redirect("orders:order_detail", number=number)
    status = 400 if form.errors else 200
    return render(request, template, {"form": form, "number": number, **context}, status=status)


@login_required
@GET_POST
def after_sales_new(request, number: str, part: str):
    order = found_or_404(selectors.merchant_order_get_for_buyer(request.user, number, part))
    form = AfterSalesForm(request.POST or None, request.FILES or None, order=order)
    return _form_page(
        request,
        form,
        "storefront/orders/after_sales_form.html",
        {"part": order},
        lambda data: services.after_sales_request_create(
            order=order,
            buyer=request.user,
            kind=data["kind"],
            reason=data["reason"],
            items=data["items"],
            shipping_amount=data.get("shipping_amount") or ZERO,
            photos=data.get("photos") or [],
        ),
        _("Your request was sent to the shop. It must answer within %(hours)s hours.")
        % {"hours": settings.AFTER_SALES_RESPONSE_HOURS},
        number,
    )


@login_required
@GET_POST
def after_sales_escalate(request, number: str, request_id: int):
    after_sales = found_or_404(selectors.after_sales_get_for_buyer(request.user, number, request_id))
    return _form_page(
        request,
        EscalateForm(request.POST or None),
        "storefront/orders/escalate_form.html",
        {"after_sales": after_sales},
        lambda data: services.after_sales_escalate(
            request=after_sales, buyer=request.user, statement=data["statement"]
        ),
        _("The platform will look into it. The shop is not paid for this order until it has decided."),
        number,
    )


@login_required
@require_POST
def after_sales_withdraw(request, number: str, request_id: int):
    after_sales = found_or_404(selectors.after_sales_get_for_buyer(request.user, number, request_id))
    _attempt(
        request,
        lambda: services.after_sales_withdraw(request=after_sales, buyer=request.user),
        _("Your request was withdrawn."),
    )
    return redirect("orders:order_detail", number=number)


@login_required
@GET_POST
def review_new(request, number: str, line_id: int):
    line = found_or_404(selectors.order_line_get_for_buyer(request.user, number, line_id))
    return _form_page(
        request,
        ReviewForm(request.POST or None, request.FILES or None),
        "storefront/orders/review_form.html",
        {"line": line},
        lambda data: services.review_create(
            order_line=line,
            buyer=request.user,
            rating=data["rating"],
            text=data["text"],
            photos=data.get("photos") or [],
        ),
        _("Thank you for your review."),
        number,
    )


@login_required
@GET_POST
def complaint_new(request, number: str, part: str):
    order = found_or_404(selectors.merchant_order_get_for_buyer(request.user, number, part))
    return _form_page(
        request,
        ComplaintForm(request.POST or None),
        "storefront/orders/complaint_form.html",
        {"part": order},
        lambda data: services.complaint_create(
            order=order, buyer=request.user, category=data["category"], text=data["text"]
        ),
        _("Your complaint was recorded. The platform reviews every complaint."),
        number,
    )


# --- Addresses -------------------------------------------------------------------------


def _address_data(form) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k not in ("make_default", "next")}


@login_required
@GET_POST
def addresses(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.address_create(
                buyer=request.user, data=_address_data(form), make_default=form.cleaned_data["make_default"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Address saved."))
            return redirect(_next_url(request, form.cleaned_data["next"], reverse("orders:addresses")))
    context = {"addresses": selectors.address_list(request.user), "form": form}
    return render(request, "storefront/orders/addresses.html", context, status=400 if form.errors else 200)


@login_required
@GET_POST
def address_edit(request, address_id: int):
    address = found_or_404(selectors.address_get(request.user, address_id))
    initial = {name: getattr(address, name) for name in AddressForm.base_fields if hasattr(address, name)}
    form = AddressForm(request.POST or None, initial={**initial, "make_default": address.is_default})
    if request.method == "POST" and form.is_valid():
        try:
            services.address_update(
                address=address,
                buyer=request.user,
                data=_address_data(form),
                make_default=form.cleaned_data["make_default"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Address saved."))
            return redirect("orders:addresses")
    context = {"address": address, "form": form}
    return render(request, "storefront/orders/address_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def address_delete(request, address_id: int):
    address = found_or_404(selectors.address_get(request.user, address_id))
    _attempt(request, lambda: services.address_delete(address=address, buyer=request.user), _("Address deleted."))
    return redirect("orders:addresses")


@login_required
@require_POST
def address_default(request, address_id: int):
    address = found_or_404(selectors.address_get(request.user, address_id))
    _attempt(
        request,
        lambda: services.address_set_default(address=address, buyer=request.user),
        _("This is now your default address."),
    )
    return redirect("orders:addresses")


@login_required
def after_sales_photo(request, photo_id: int):
    """An after-sales photo, for those `selectors.after_sales_photo_get_for_user` allows: the
    buyer, the shop's members whose role covers orders, and staff allowed the declared action
    (they open it from the admin's dispute page)."""
    photo = found_or_404(selectors.after_sales_photo_get_for_user(request.user, photo_id))
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def review_photo(request, photo_id: int):
    """A picture of a shown review of a public product (public, like the product's pictures);
    a hidden review's or a withdrawn product's is not found."""
    photo = found_or_404(selectors.review_photo_get_public(photo_id))
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404("No such picture.") from exc
    response = FileResponse(handle, content_type="image/jpeg")
    # Not cached by browsers or proxies for long: operations may hide the review.
    response["Cache-Control"] = "public, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
