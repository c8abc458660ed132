"""Merchant portal pages of orders (/portal/orders/): the order list and page with shipping,
shipping from a CSV file, merging orders into one parcel, and the after-sales queue.

Every page goes through `portal_view(PortalSection.ORDERS)`, so only the owner and orders
members reach it, and every row comes from a selector given the member's merchant: another
merchant's ids answer 404, and a merchant sees only its own merchant order of a buyer order
(never the other shops' lines or the buyer order's totals). Views check the shape of input
with forms, call one service and turn a `DomainError` into form errors or a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.errors import ConflictError, DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.selectors import member_list
from merchants.views import portal_context, portal_view

from . import selectors, services
from .choices import GIFT_OUT_OF_STOCK_EVENT, AfterSalesKind, AfterSalesStatus, OrderStatus, ShipmentStatus
from .filters import MerchantOrderFilter
from .masking import BuyerContact
from .models import ShippingRate
from .portal_forms import (
    AcceptForm,
    AfterSalesFilterForm,
    ComplaintFilterForm,
    MergeForm,
    RejectForm,
    ReturnReceivedForm,
    ReviewFilterForm,
    ReviewReplyForm,
    ShipForm,
    ShipImportForm,
    ShippingRateForm,
)
from .services.fulfilment import MAX_ROWS

ORDERS = PortalSection.ORDERS
# Menu keys, for merchants.views._menu to highlight the current entry.
MENU_ORDERS, MENU_SHIPPING, MENU_AFTER_SALES = "orders_orders", "orders_shipping", "orders_after_sales"
MENU_REVIEWS, MENU_COMPLAINTS = "orders_reviews", "orders_complaints"
PAGE_SIZE = 25

EVENT_LABELS = {
    "place": gettext_lazy("Placed"),
    "pay": gettext_lazy("Paid"),
    "ship": gettext_lazy("Shipped"),
    "deliver": gettext_lazy("Delivered"),
    "complete": gettext_lazy("Completed"),
    "cancel": gettext_lazy("Cancelled"),
    "merge": gettext_lazy("Merged into one parcel"),
    "unmerge": gettext_lazy("Taken out of a shared parcel"),
    GIFT_OUT_OF_STOCK_EVENT: gettext_lazy("A gift was out of stock"),
}


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _conflict(request, error: DomainError, to: str, **kwargs):
    """A state conflict (the page was stale): its form is gone from the fresh page, so say
    why on the page that shows the current state."""
    messages.error(request, str(error.message))
    return redirect(to, **kwargs)


# --- Orders -------------------------------------------------------------------------------------


@portal_view(ORDERS)
def order_list(request, merchant, member):
    filterset = MerchantOrderFilter(request.GET or None, queryset=selectors.merchant_order_list_for_merchant(merchant))
    filtered = any(value for key, value in request.GET.items() if key != "page")
    page = _page(request, filterset.qs)
    for order in page.object_list:
        order.contact = BuyerContact.for_merchant(order)
    context = portal_context(member, MENU_ORDERS, filter_form=filterset.form, page=page, filtered=filtered)
    return render(request, "portal/orders/order_list.html", context, status=400 if filterset.form.errors else 200)


def _timeline(order, merchant) -> list[dict]:
    """Events with who acted as the merchant should see it: the buyer and platform staff are
    named by their role only."""
    team = {m.user_id: m.user for m in member_list(merchant)}
    rows = []
    for event in selectors.merchant_order_events(order):
        if event.actor_id is None:
            who = _("System")
        elif event.actor_id == order.buyer_order.buyer_id:
            who = _("Buyer")
        elif event.actor_id in team:
            who = str(team[event.actor_id])
        else:
            who = _("Platform")
        rows.append(
            {
                "event": event,
                "label": EVENT_LABELS.get(event.action, event.action),
                "who": who,
                "from": OrderStatus(event.from_status).label if event.from_status in OrderStatus.values else "",
                "to": OrderStatus(event.to_status).label if event.to_status in OrderStatus.values else "",
            }
        )
    return rows


def _detail_page(request, member, order, *, ship_form=None):
    merchant = member.merchant
    shipments = selectors.merchant_order_shipments(order)
    lines = list(order.lines.all())
    for line in lines:
        line.rate_percent = line.commission_rate * 100
    merged_with = sorted(
        {n for s in shipments if s.status == ShipmentStatus.PENDING for n in s.order_numbers} - {order.number}
    )
    context = portal_context(
        member,
        MENU_ORDERS,
        order=order,
        buyer_order=order.buyer_order,
        contact=BuyerContact.for_merchant(order),
        lines=lines,
        shipments=shipments,
        merged_with=merged_with,
        timeline=_timeline(order, merchant),
        after_sales=selectors.after_sales_list_for_merchant(merchant).filter(merchant_order=order),
        can_ship=order.status == OrderStatus.PAID,
        ship_form=ship_form or ShipForm(),
    )
    return render(request, "portal/orders/order_detail.html", context, status=400 if ship_form is not None else 200)


@portal_view(ORDERS)
def order_detail(request, merchant, member, order_id: int):
    order = found_or_404(selectors.merchant_order_get_for_merchant(merchant, order_id))
    return _detail_page(request, member, order)


@require_POST
@portal_view(ORDERS)
def order_ship(request, merchant, member, order_id: int):
    order = found_or_404(selectors.merchant_order_get_for_merchant(merchant, order_id))
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            shipped = services.merchant_order_ship_parcel(
                order=order,
                merchant=merchant,
                actor=request.user,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
            )
        except ConflictError as error:
            return _conflict(request, error, "portal_orders:order", order_id=order.pk)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            others = [o.number for o in shipped if o.pk != order.pk]
            if others:
                messages.success(
                    request,
                    _("Shipped, together with the orders in the same parcel: %(numbers)s.")
                    % {"numbers": ", ".join(others)},
                )
            else:
                messages.success(request, _("Shipped. The buyer can follow the parcel with its tracking number."))
            return redirect("portal_orders:order", order_id=order.pk)
    return _detail_page(request, member, order, ship_form=form)


# --- Shipping many orders, merging parcels ------------------------------------------------------


@portal_view(ORDERS)
def ship_import(request, merchant, member):
    form = ShipImportForm(request.POST or None, request.FILES or None)
    row_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            summary = services.merchant_orders_ship_csv(merchant=merchant, actor=request.user, data=form.content())
        except DomainError as error:
            row_errors = error.extra.get("errors", []) if error.code == "import_invalid" else []
            form.add_error(None, str(error.message))
        else:
            context = portal_context(member, MENU_SHIPPING, form=ShipImportForm(), summary=summary, max_rows=MAX_ROWS)
            return render(request, "portal/orders/ship_import.html", context)
    context = portal_context(member, MENU_SHIPPING, form=form, row_errors=row_errors, max_rows=MAX_ROWS)
    return render(request, "portal/orders/ship_import.html", context, status=400 if form.errors else 200)


@portal_view(ORDERS)
def merge(request, merchant, member):
    groups = selectors.merge_candidates_for_merchant(merchant)
    candidate_ids = [o.pk for group in groups for o in group["orders"]]
    form = MergeForm(request.POST or None, order_ids=candidate_ids)
    if request.method == "POST" and form.is_valid():
        orders = [
            found_or_404(selectors.merchant_order_get_for_merchant(merchant, pk)) for pk in form.cleaned_data["orders"]
        ]
        try:
            parcel = services.shipment_merge(merchant=merchant, orders=orders, actor=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("Orders %(numbers)s now travel in one parcel from %(warehouse)s. Shipping any of them ships all.")
                % {"numbers": ", ".join(o.number for o in orders), "warehouse": parcel.warehouse.code},
            )
            return redirect("portal_orders:merge")
    context = portal_context(member, MENU_SHIPPING, groups=groups, form=form)
    return render(request, "portal/orders/merge.html", context, status=400 if form.errors else 200)


# --- After-sales ---------------------------------------------------------------------------------


@portal_view(ORDERS)
def after_sales_list(request, merchant, member):
    form = AfterSalesFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    requests = selectors.after_sales_list_for_merchant(merchant, status=status)
    context = portal_context(
        member, MENU_AFTER_SALES, filter_form=form, page=_page(request, requests), filtered=bool(status)
    )
    return render(request, "portal/orders/after_sales_list.html", context)


def _after_sales_page(request, member, item, *, accept_form=None, reject_form=None, return_form=None):
    merchant = member.merchant
    context = portal_context(
        member,
        MENU_AFTER_SALES,
        item=item,
        order=item.merchant_order,
        lines=item.lines.all(),
        dispute=getattr(item, "dispute", None),
        answerable=item.can_answer,
        is_return=item.kind == AfterSalesKind.RETURN_REFUND,
        awaiting_return=item.can_receive_return,
        accept_form=accept_form or AcceptForm(),
        reject_form=reject_form or RejectForm(),
        return_form=return_form or ReturnReceivedForm(merchant=merchant),
    )
    failed = any(f is not None and f.errors for f in (accept_form, reject_form, return_form))
    return render(request, "portal/orders/after_sales_detail.html", context, status=400 if failed else 200)


@portal_view(ORDERS)
def after_sales_detail(request, merchant, member, request_id: int):
    item = found_or_404(selectors.after_sales_get_for_merchant(merchant, request_id))
    return _after_sales_page(request, member, item)


def _after_sales_done(request, item, message):
    messages.success(request, message)
    return redirect("portal_orders:after_sales_detail", request_id=item.pk)


@require_POST
@portal_view(ORDERS)
def after_sales_accept(request, merchant, member, request_id: int):
    item = found_or_404(selectors.after_sales_get_for_merchant(merchant, request_id))
    form = AcceptForm(request.POST)
    if form.is_valid():
        try:
            done = services.after_sales_accept(
                request=item, merchant=merchant, actor=request.user, note=form.cleaned_data["note"]
            )
        except ConflictError as error:
            return _conflict(request, error, "portal_orders:after_sales_detail", request_id=item.pk)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if done.status == AfterSalesStatus.AWAITING_RETURN:
                return _after_sales_done(request, item, _("Accepted. Confirm here when the returned goods arrive."))
            return _after_sales_done(request, item, _("Accepted: the refund is on its way back to the buyer."))
    return _after_sales_page(request, member, item, accept_form=form)


@require_POST
@portal_view(ORDERS)
def after_sales_reject(request, merchant, member, request_id: int):
    item = found_or_404(selectors.after_sales_get_for_merchant(merchant, request_id))
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.after_sales_reject(
                request=item, merchant=merchant, actor=request.user, note=form.cleaned_data["reason"]
            )
        except ConflictError as error:
            return _conflict(request, error, "portal_orders:after_sales_detail", request_id=item.pk)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _after_sales_done(
                request, item, _("Rejected. The buyer sees your reason and may ask the platform to decide.")
            )
    return _after_sales_page(request, member, item, reject_form=form)


@require_POST
@portal_view(ORDERS)
def after_sales_return_received(request, merchant, member, request_id: int):
    item = found_or_404(selectors.after_sales_get_for_merchant(merchant, request_id))
    form = ReturnReceivedForm(request.POST, merchant=merchant)
    if form.is_valid():
        try:
            services.after_sales_return_received(
                request=item, merchant=merchant, actor=request.user, warehouse=form.cleaned_data["warehouse"]
            )
        except ConflictError as error:
            return _conflict(request, error, "portal_orders:after_sales_detail", request_id=item.pk)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _after_sales_done(
                request,
                item,
                _("Return received: the goods are back in stock and the refund is on its way back to the buyer."),
            )
    return _after_sales_page(request, member, item, return_form=form)


@portal_view(ORDERS)
def shipping_rate(request, merchant, member):
    """The shop's shipping fee and free-shipping threshold (owner and orders role)."""
    current = ShippingRate.objects.filter(merchant=merchant).first()
    initial = {"flat_fee": current.flat_fee, "free_over": current.free_over} if current else {}
    form = ShippingRateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.shipping_rate_set(
                merchant=merchant,
                flat_fee=form.cleaned_data["flat_fee"],
                free_over=form.cleaned_data["free_over"],
                actor=request.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Shipping fee saved. It applies to orders placed from now on."))
            return redirect("portal_orders:shipping_rate")
    context = portal_context(member, MENU_SHIPPING, form=form, rate=current, tab="shipping_rate")
    return render(request, "portal/orders/shipping_rate.html", context, status=400 if form.errors else 200)


# --- Reviews and complaints ----------------------------------------------------------------------


@portal_view(ORDERS)
def review_list(request, merchant, member):
    """The shop's reviews, newest first, filtered by rating and reply; each waiting review has
    its reply form (one reply each, shown under the review on the product page)."""
    form = ReviewFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    rating, replied = data.get("rating"), data.get("replied")
    reviews = selectors.review_list_for_merchant(merchant, rating=rating, replied=replied)
    context = portal_context(
        member,
        MENU_REVIEWS,
        filter_form=form,
        page=_page(request, reviews),
        filtered=rating is not None or replied is not None,
        reply_form=ReviewReplyForm(),
    )
    return render(request, "portal/orders/review_list.html", context)


@require_POST
@portal_view(ORDERS)
def review_reply(request, merchant, member, review_id: int):
    review = found_or_404(selectors.review_get_for_merchant(merchant, review_id))
    form = ReviewReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write your reply (at most 2,000 characters)."))
    else:
        try:
            services.review_reply(
                merchant=merchant, review_id=review.pk, actor=request.user, text=form.cleaned_data["text"]
            )
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Reply published under the review."))
    return redirect("portal_orders:reviews")


@portal_view(ORDERS)
def complaint_list(request, merchant, member):
    """The complaints buyers made about the shop's orders and the platform's handling."""
    form = ComplaintFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    complaints = selectors.complaint_list_for_merchant(merchant, status=status)
    context = portal_context(
        member, MENU_COMPLAINTS, filter_form=form, page=_page(request, complaints), filtered=bool(status)
    )
    return render(request, "portal/orders/complaint_list.html", context)
