"""Staff screens of orders: buyer and merchant orders, payments, gateway events and refunds
(all read-only: they change only through the services), after-sales requests, reviews and
complaints (read-only lists), and the dispute queue with its arbitration action.

The writes are object actions calling one service each. Arbitration (`ARBITRATE`) calls
`services.dispute_resolve`, so the refund, the proportional commission reversal, the
unfreezing of the order and the audit log apply exactly as in the services; it needs
`orders.change_dispute`. Sending a failed refund to the gateway again (`RETRY_REFUND`) calls
`services.refund_retry`; it needs `orders.change_refund`. Without the permission: 403,
nothing changes; a refusal of the service shows on the form or the record's page.

The refund list shows which refunds the gateway has not returned yet (filter by status),
with their attempts, the last error and when the next attempt is due.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ConfirmForm,
    ObjectAction,
    ObjectActionsMixin,
    QueueOrderingMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    link,
    table,
    when,
)
from marketplace.money import ZERO, format_cny

from . import permissions, selectors, services
from .choices import ComplaintStatus, DisputeStatus
from .models import (
    COMPLAINT_TRANSITIONS,
    DISPUTE_TRANSITIONS,
    REFUND_TRANSITIONS,
    AfterSalesRequest,
    BuyerOrder,
    Complaint,
    Dispute,
    GatewayEvent,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    Review,
    ReviewPhoto,
    ShippingRate,
)

# --- Orders ------------------------------------------------------------------------------------


class MerchantOrderInline(ReadOnlyInline):
    model = MerchantOrder
    parent_permission = "orders.view_buyerorder"
    fields = ["number_link", "merchant", "status", "paid_total", "is_frozen", "after_sales_open"]
    readonly_fields = ["number_link"]

    @admin.display(description=_("order number"))
    def number_link(self, order):
        return link(order, order.number)


class PaymentInline(ReadOnlyInline):
    model = Payment
    parent_permission = "orders.view_buyerorder"
    fields = ["reference", "gateway", "amount", "status", "created_at", "succeeded_at"]


@admin.register(BuyerOrder)
class BuyerOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "buyer", "status", "payable_total", "placed_at", "paid_at"]
    list_filter = ["status", "region"]
    list_select_related = ["buyer"]
    search_fields = ["number", "buyer__email", "recipient", "phone"]
    date_hierarchy = "placed_at"
    inlines = [MerchantOrderInline, PaymentInline]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    parent_permission = "orders.view_merchantorder"
    fields = [
        "product_title",
        "sku_code",
        "unit_price",
        "quantity",
        "gross",
        "merchant_discount",
        "platform_discount",
        "paid",
        "base",
        "commission_rate",
        "commission",
        "shipping_share",
        "refunded",
        "returned_quantity",
    ]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    parent_permission = "orders.view_merchantorder"
    fields = ["created_at", "action", "from_status", "to_status", "actor", "note"]


class RefundInline(ReadOnlyInline):
    model = Refund
    parent_permission = "orders.view_merchantorder"
    fields = ["reference", "amount", "shipping_amount", "reason", "completed_at", "status", "succeeded_at"]


@admin.register(MerchantOrder)
class MerchantOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "merchant",
        "status",
        "paid_total",
        "is_frozen",
        "after_sales_open",
        "placed_at",
        "shipped_at",
    ]
    list_filter = ["status", "is_frozen", "after_sales_open", ("merchant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["merchant", "buyer_order"]
    search_fields = ["number", "buyer_order__number", "merchant__shop_name", "merchant__company_name"]
    date_hierarchy = "placed_at"
    readonly_fields = ["delivery", "shipments"]
    inlines = [OrderLineInline, OrderEventInline, RefundInline]

    @admin.display(description=_("deliver to"))
    def delivery(self, order):
        bo = order.buyer_order
        return f"{bo.recipient} {bo.phone} · {bo.get_region_display()} · {bo.address}"

    @admin.display(description=_("shipments"))
    def shipments(self, order):
        rows = selectors.merchant_order_shipments(order)
        if not rows:
            return "—"
        return table(
            [
                gettext("warehouse"),
                gettext("status"),
                gettext("contents"),
                gettext("carrier"),
                gettext("tracking number"),
                gettext("shipped"),
            ],
            (
                (
                    shipment.warehouse.code,
                    shipment.get_status_display(),
                    ", ".join(
                        f"{line.order_line.sku_code} × {line.quantity} ({line.order_line.merchant_order.number})"
                        for line in shipment.lines.all()
                    ),
                    shipment.carrier or "—",
                    shipment.tracking_number or "—",
                    when(shipment.shipped_at),
                )
                for shipment in rows
            ),
        )


# --- Money --------------------------------------------------------------------------------------


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "buyer_order", "gateway", "amount", "status", "created_at", "succeeded_at"]
    list_filter = ["status", "gateway"]
    list_select_related = ["buyer_order"]
    search_fields = ["reference", "buyer_order__number"]
    date_hierarchy = "created_at"


@admin.register(GatewayEvent)
class GatewayEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "gateway", "kind", "outcome", "received_at"]
    list_filter = ["gateway", "kind", "outcome"]
    search_fields = ["event_id"]
    date_hierarchy = "received_at"


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    parent_permission = "orders.view_refund"
    fields = [
        "order_line",
        "amount",
        "quantity",
        "refunded_base",
        "platform_discount_back",
        "commission_returned",
    ]


def _retry_refund(request, refund: Refund, data) -> str:
    services.refund_retry(refund=refund, actor=request.user)
    return gettext("The refund is sent to the gateway again.")


RETRY_REFUND = ObjectAction(
    "retry",
    _("Send to the gateway again"),
    ConfirmForm,
    _retry_refund,
    available=REFUND_TRANSITIONS.predicate("retry"),
    staff_action=permissions.REFUND_RETRY,
    help_text=_(
        "The refund goes to the gateway again with the same reference: if the money did go back after all, "
        "the gateway answers with its first result and returns nothing more."
    ),
)


@admin.register(Refund)
class RefundAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Refunds and whether the gateway has returned the money; failed ones can be sent again."""

    list_display = [
        "reference",
        "merchant_order",
        "payment",
        "amount",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "completed_at",
        "succeeded_at",
    ]
    list_filter = ["status"]
    list_select_related = ["merchant_order", "payment"]
    search_fields = ["reference", "merchant_order__number", "payment__reference"]
    date_hierarchy = "completed_at"
    inlines = [RefundLineInline]
    object_actions = [RETRY_REFUND]

    def action_summary(self, request, refund):
        return [
            (gettext("Amount"), format_cny(refund.amount)),
            (gettext("Attempts"), str(refund.attempts)),
            (gettext("Last error"), refund.last_error or "—"),
        ]

    def action_unavailable(self, refund, action) -> str:
        return gettext("Only a failed refund can be sent again.")


# --- After-sales, reviews, complaints -----------------------------------------------------------


@admin.register(AfterSalesRequest)
class AfterSalesRequestAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "merchant_order", "kind", "status", "total_asked", "respond_by", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["merchant_order"]
    search_fields = ["merchant_order__number", "buyer__email"]
    readonly_fields = ["total_asked"]

    @admin.display(description=_("amount asked"))
    def total_asked(self, request_):
        return format_cny(request_.total)


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("Kept in the audit log.")
    )
    error_fields = {"reason_required": "reason"}


def _hide(request, review: Review, data) -> str:
    services.review_hide(review_id=review.pk, actor=request.user, reason=data["reason"])
    return gettext("Hidden: the review is no longer shown and leaves the product's and the shop's ratings.")


def _show(request, review: Review, data) -> str:
    services.review_show(review_id=review.pk, actor=request.user, reason=data["reason"])
    return gettext("Shown again: the review counts in the ratings again.")


HIDE_REVIEW = ObjectAction(
    "hide",
    _("Hide the review"),
    ReasonForm,
    _hide,
    available=lambda review: not review.is_hidden,
    staff_action=permissions.REVIEW_MODERATE,
    help_text=_("For a malicious review: it disappears from the shop's pages and from the averages."),
)
SHOW_REVIEW = ObjectAction(
    "show",
    _("Show the review again"),
    ReasonForm,
    _show,
    available=lambda review: review.is_hidden,
    staff_action=permissions.REVIEW_MODERATE,
)


class ReviewPhotoInline(ReadOnlyInline):
    model = ReviewPhoto
    parent_permission = "orders.view_review"
    fields = ["picture", "uploaded_at"]
    readonly_fields = ["picture", "uploaded_at"]

    @admin.display(description=_("photo"))
    def picture(self, photo):
        return format_html(
            '<img src="{}" alt="" width="96" height="96">', reverse("orders:review_photo", args=[photo.pk])
        )


@admin.register(Review)
class ReviewAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Reviews; operations hide a malicious one (with a reason, audited) or show it again."""

    list_display = ["created_at", "merchant", "rating", "order_line", "buyer", "text", "is_hidden", "replied"]
    list_filter = ["is_hidden", "rating"]
    list_select_related = ["merchant", "order_line", "buyer"]
    search_fields = ["merchant__shop_name", "text"]
    date_hierarchy = "created_at"
    object_actions = [HIDE_REVIEW, SHOW_REVIEW]
    inlines = [ReviewPhotoInline]

    @admin.display(description=_("replied"), boolean=True)
    def replied(self, review):
        return bool(review.reply)


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.complaint_list_overdue(timezone.now()).values("pk"))
        return queryset


class AssignForm(ActionForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none())
    error_fields = {"assignee_not_staff": "assignee"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email")
        )


class RespondForm(ActionForm):
    response = forms.CharField(
        label=_("Response"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("The buyer and the merchant see it.")
    )
    resolve = forms.BooleanField(label=_("Resolve the complaint"), required=False)
    error_fields = {"response_required": "response"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.obj is not None and not self.is_bound:
            self.fields["response"].initial = self.obj.response


def _assign(request, complaint: Complaint, data) -> str:
    services.complaint_assign(complaint_id=complaint.pk, assignee=data["assignee"], actor=request.user)
    return gettext("Assigned to %(user)s.") % {"user": data["assignee"].email}


def _respond(request, complaint: Complaint, data) -> str:
    services.complaint_respond(
        complaint_id=complaint.pk, actor=request.user, response=data["response"], resolve=data["resolve"]
    )
    return gettext("Resolved.") if data["resolve"] else gettext("Response saved; the complaint stays open.")


ASSIGN_COMPLAINT = ObjectAction(
    "assign",
    _("Assign"),
    AssignForm,
    _assign,
    available=COMPLAINT_TRANSITIONS.predicate("respond"),
    staff_action=permissions.COMPLAINT_HANDLE,
)
RESPOND_COMPLAINT = ObjectAction(
    "respond",
    _("Respond or resolve"),
    RespondForm,
    _respond,
    available=COMPLAINT_TRANSITIONS.predicate("respond"),
    staff_action=permissions.COMPLAINT_HANDLE,
    help_text=_("A resolved complaint changes no more."),
)


@admin.register(Complaint)
class ComplaintAdmin(QueueOrderingMixin, ObjectActionsMixin, ReadOnlyAdmin):
    """The complaint queue (open ones first, the nearest deadline first): assign, respond,
    resolve; an open complaint past its deadline is shown overdue."""

    list_display = ["created_at", "merchant", "category", "merchant_order", "status", "assignee", "deadline"]
    list_filter = ["status", OverdueFilter, "category"]
    list_select_related = ["merchant", "merchant_order", "assignee"]
    search_fields = ["merchant__shop_name", "merchant_order__number", "text"]
    date_hierarchy = "created_at"
    queue_first = ("status", ComplaintStatus.OPEN)
    queue_then = ["respond_by", "id"]
    object_actions = [ASSIGN_COMPLAINT, RESPOND_COMPLAINT]

    @admin.display(description=_("resolve by"), ordering="respond_by")
    def deadline(self, complaint):
        if complaint.respond_by is None:
            return "—"
        if complaint.status == ComplaintStatus.OPEN and complaint.respond_by < timezone.now():
            return format_html(
                '<strong class="overdue">{} · {}</strong>', when(complaint.respond_by), gettext("overdue")
            )
        return when(complaint.respond_by)


# --- Disputes ------------------------------------------------------------------------------------


def asked_total(dispute: Dispute) -> Decimal:
    """What the buyer asked for: the request's lines and shipping (the most a decision gives)."""
    request = dispute.request
    return sum((line.amount for line in request.lines.all()), ZERO) + request.shipping_amount


class ArbitrateForm(ActionForm):
    amount = forms.DecimalField(
        label=_("Refund to the buyer (¥)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text=_("0 rejects the request; at most what the buyer asked."),
    )
    note = forms.CharField(
        label=_("Decision note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Both the buyer and the merchant see it."),
    )
    error_fields = {"invalid_amount": "amount", "reason_required": "note"}

    def __init__(self, *args, obj: Dispute, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        asked = asked_total(obj)
        amount = self.fields["amount"]
        amount.max_value = asked
        amount.validators.append(MaxValueValidator(asked))
        amount.widget.attrs["max"] = str(asked)
        amount.initial = asked


def _arbitrate(request, dispute: Dispute, data) -> str:
    decided = services.dispute_resolve(dispute=dispute, arbiter=request.user, amount=data["amount"], note=data["note"])
    if decided.decision_amount > 0:
        message = gettext("Decided: %(amount)s is refunded to the buyer; the order's money is no longer frozen.")
    else:
        message = gettext("Decided: no refund; the order's money is no longer frozen.")
    return message % {"amount": format_cny(decided.decision_amount)}


ARBITRATE = ObjectAction(
    "arbitrate",
    _("Arbitrate"),
    ArbitrateForm,
    _arbitrate,
    available=DISPUTE_TRANSITIONS.predicate("resolve"),
    staff_action=permissions.DISPUTE_RESOLVE,
    help_text=_(
        "The decision is final. A refund is recorded at once, with the commission reversed in proportion, and goes "
        "back to the buyer through the payment gateway right after; the order's money is unfrozen for settlement "
        "either way."
    ),
)


# Open disputes first, the oldest first: the queue operations work through.
DISPUTE_QUEUE_THEN = ["opened_at", "id"]


@admin.register(Dispute)
class DisputeAdmin(QueueOrderingMixin, ObjectActionsMixin, ReadOnlyAdmin):
    """The dispute queue and the case page; the decision goes through the arbitrate action."""

    list_display = ["__str__", "order", "merchant", "status", "amount_asked", "opened_at", "waiting"]
    list_filter = ["status"]
    list_select_related = ["request__merchant_order__merchant"]
    search_fields = ["request__merchant_order__number", "request__merchant_order__merchant__shop_name"]
    queue_first = ("status", DisputeStatus.OPEN)
    queue_then = DISPUTE_QUEUE_THEN
    object_actions = [ARBITRATE]
    change_form_template = "admin/orders/dispute/change_form.html"
    readonly_fields = ["order", "merchant", "amount_asked", "case", "lines_table", "statements", "waiting"]
    fieldsets = [
        (_("Case"), {"fields": ["status", "order", "merchant", "case", "opened_at", "waiting"]}),
        (_("What the buyer asks"), {"fields": ["lines_table", "amount_asked"]}),
        (_("What both parties said"), {"fields": ["statements"]}),
        (_("Decision"), {"fields": ["decision_amount", "decision_note", "arbiter", "resolved_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The buyer's photos are shown only to staff the photo view serves them to (the same
        # declaration), rather than as broken images.
        extra = {**(extra_context or {}), "can_view_photos": permissions.AFTER_SALES_PHOTO_VIEW.allows(request.user)}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description=_("order"))
    def order(self, dispute):
        return link(dispute.request.merchant_order, dispute.request.merchant_order.number)

    @admin.display(description=_("merchant"))
    def merchant(self, dispute):
        return dispute.request.merchant_order.merchant

    @admin.display(description=_("amount asked"))
    def amount_asked(self, dispute):
        return format_cny(asked_total(dispute))

    @admin.display(description=_("waiting"))
    def waiting(self, dispute):
        end = dispute.resolved_at or timezone.now()
        days = (end - dispute.opened_at).days
        return gettext("%(days)d day(s)") % {"days": days}

    @admin.display(description=_("request"))
    def case(self, dispute):
        request = dispute.request
        return format_html(
            "{} · {} · {}<br>{}: {}",
            request,
            request.get_kind_display(),
            when(request.created_at),
            gettext("order status"),
            request.merchant_order.get_status_display(),
        )

    @admin.display(description=_("lines"))
    def lines_table(self, dispute):
        request = dispute.request
        rows = [
            (
                f"{line.order_line.product_title} ({line.order_line.sku_code})",
                line.quantity,
                format_cny(line.order_line.paid),
                format_cny(line.order_line.refunded),
                format_cny(line.amount),
            )
            for line in request.lines.select_related("order_line")
        ]
        if request.shipping_amount:
            rows.append(
                (
                    gettext("shipping"),
                    "",
                    format_cny(request.merchant_order.shipping_fee),
                    "",
                    format_cny(request.shipping_amount),
                )
            )
        return table(
            [gettext("item"), gettext("quantity"), gettext("paid"), gettext("already refunded"), gettext("asked")], rows
        )

    @admin.display(description=_("what both parties said"))
    def statements(self, dispute):
        request = dispute.request
        return format_html(
            "<p><strong>{}</strong><br>{}</p><p><strong>{}</strong><br>{}</p><p><strong>{}</strong><br>{}</p>",
            gettext("Buyer's reason for the request"),
            request.reason,
            gettext("Merchant's answer"),
            request.merchant_note or "—",
            gettext("Buyer's statement for the dispute"),
            dispute.buyer_statement,
        )

    # The arbitration action (marketplace.admin_tools.ObjectActionsMixin): its page shows the
    # case, what the buyer asks and what both parties said above the decision form.

    def action_summary(self, request, dispute):
        return [
            (gettext("Order"), self.order(dispute)),
            (gettext("Merchant"), self.merchant(dispute)),
            (gettext("Amount asked"), format_cny(asked_total(dispute))),
        ]

    def action_preview(self, request, dispute, action) -> str:
        return format_html(
            "<h2>{}</h2>{}<h2>{}</h2>{}",
            gettext("What the buyer asks"),
            self.lines_table(dispute),
            gettext("What both parties said"),
            self.statements(dispute),
        )

    def action_unavailable(self, dispute, action) -> str:
        return gettext("This dispute is already decided.")


@admin.register(ShippingRate)
class ShippingRateAdmin(ReadOnlyAdmin):
    """Read-only here: merchants set their fee in the portal (orders.services.shipping_rate_set)."""

    list_display = ["merchant", "flat_fee", "free_over"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]
    list_select_related = ["merchant"]
