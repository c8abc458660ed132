"""Staff screens of orders: buyer and merchant orders, payments, gateway events and refunds
(all read-only: they change only through the services), after-sales requests, reviews and
complaints (read-only lists), and the dispute queue with its arbitration action.

The one write is arbitration (`DisputeAdmin.arbitrate_view`): a confirmation form that
calls `services.dispute_resolve`, so the refund, the proportional commission reversal, the
unfreezing of the order and the audit log apply exactly as in the services. It needs
`orders.change_dispute` (else 403, nothing changes); a refusal of the service shows on the
form.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, format_cny

from . import selectors, services
from .models import (
    AfterSalesRequest,
    BuyerOrder,
    Complaint,
    Dispute,
    DisputeStatus,
    GatewayEvent,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    Review,
    ShippingRate,
)


def _when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _table(headers, rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _link(obj, label=None) -> str:
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: staff look, never add, edit or delete."""

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in self.model._meta.fields), *self.readonly_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown as part of their parent: whoever may view the parent sees them."""

    extra = 0
    can_delete = False
    show_change_link = False
    parent_permission = ""

    def get_readonly_fields(self, request, obj=None):
        return list(dict.fromkeys([*self.fields, *self.readonly_fields]))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.parent_permission)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Orders ------------------------------------------------------------------------------------


class MerchantOrderInline(ReadOnlyInline):
    model = MerchantOrder
    parent_permission = "orders.view_buyerorder"
    fields = ["number_link", "merchant", "status", "paid_total", "is_frozen", "after_sales_open"]
    readonly_fields = ["number_link"]

    @admin.display(description=_("order number"))
    def number_link(self, order):
        return _link(order, order.number)


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
    ]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    parent_permission = "orders.view_merchantorder"
    fields = ["created_at", "action", "from_status", "to_status", "actor", "note"]


class RefundInline(ReadOnlyInline):
    model = Refund
    parent_permission = "orders.view_merchantorder"
    fields = ["reference", "amount", "shipping_amount", "reason", "completed_at"]


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
        return _table(
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
                    _when(shipment.shipped_at),
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


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["reference", "merchant_order", "amount", "shipping_amount", "reason", "completed_at"]
    list_select_related = ["merchant_order"]
    search_fields = ["reference", "merchant_order__number"]
    date_hierarchy = "completed_at"
    inlines = [RefundLineInline]


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


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "rating", "order_line", "buyer", "text"]
    list_filter = ["rating"]
    list_select_related = ["merchant", "order_line", "buyer"]
    search_fields = ["merchant__shop_name", "text"]
    date_hierarchy = "created_at"


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "category", "merchant_order", "buyer"]
    list_filter = ["category"]
    list_select_related = ["merchant", "merchant_order", "buyer"]
    search_fields = ["merchant__shop_name", "merchant_order__number", "text"]
    date_hierarchy = "created_at"


# --- Disputes ------------------------------------------------------------------------------------


def asked_total(dispute: Dispute) -> Decimal:
    """What the buyer asked for: the request's lines and shipping (the most a decision gives)."""
    request = dispute.request
    return sum((line.amount for line in request.lines.all()), ZERO) + request.shipping_amount


class ArbitrateForm(forms.Form):
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

    def __init__(self, *args, asked: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        amount = self.fields["amount"]
        amount.max_value = asked
        amount.validators.append(MaxValueValidator(asked))
        amount.widget.attrs["max"] = str(asked)
        amount.initial = asked


# Open disputes first, the oldest first: the queue operations work through.
DISPUTE_QUEUE_ORDER = [
    Case(When(status=DisputeStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()).asc(),
    "opened_at",
    "id",
]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """The dispute queue and the case page; the decision goes through the arbitrate action."""

    list_display = ["__str__", "order", "merchant", "status", "amount_asked", "opened_at", "waiting"]
    list_filter = ["status"]
    list_select_related = ["request__merchant_order__merchant"]
    search_fields = ["request__merchant_order__number", "request__merchant_order__merchant__shop_name"]
    ordering = DISPUTE_QUEUE_ORDER
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

    @admin.display(description=_("order"))
    def order(self, dispute):
        return _link(dispute.request.merchant_order, dispute.request.merchant_order.number)

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
            _when(request.created_at),
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
        return _table(
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

    # The arbitration action.

    def get_urls(self):
        arbitrate = path(
            "<path:object_id>/arbitrate/",
            self.admin_site.admin_view(self.arbitrate_view),
            name="orders_dispute_arbitrate",
        )
        return [arbitrate, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dispute = self.get_object(request, unquote(object_id))
        can_arbitrate = (
            dispute is not None
            and dispute.status == DisputeStatus.OPEN
            and request.user.has_perm("orders.change_dispute")
        )
        extra = {**(extra_context or {}), "arbitrate_url": self._arbitrate_url(dispute) if can_arbitrate else None}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _arbitrate_url(self, dispute) -> str:
        return reverse("admin:orders_dispute_arbitrate", args=[dispute.pk], current_app=self.admin_site.name)

    def arbitrate_view(self, request, object_id) -> HttpResponse:
        """GET shows the case and the decision form; POST calls `services.dispute_resolve`."""
        dispute = self.get_object(request, unquote(object_id))
        if dispute is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (self.has_view_permission(request, dispute) and request.user.has_perm("orders.change_dispute")):
            raise PermissionDenied
        change_url = reverse("admin:orders_dispute_change", args=[dispute.pk], current_app=self.admin_site.name)
        if dispute.status != DisputeStatus.OPEN:
            messages.error(request, gettext("This dispute is already decided."))
            return redirect(change_url)
        asked = asked_total(dispute)
        form = ArbitrateForm(request.POST or None, asked=asked)
        if request.method == "POST" and form.is_valid():
            try:
                decided = services.dispute_resolve(
                    dispute=dispute,
                    arbiter=request.user,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                )
            except ConflictError as exc:
                messages.error(request, str(exc.message))
                return redirect(change_url)
            except DomainError as exc:
                field = form.error_fields.get(exc.code)
                form.add_error(field if field in form.fields else None, str(exc.message))
            else:
                if decided.decision_amount > 0:
                    message = gettext(
                        "Decided: %(amount)s is refunded to the buyer; the order's money is no longer frozen."
                    )
                else:
                    message = gettext("Decided: no refund; the order's money is no longer frozen.")
                messages.success(request, message % {"amount": format_cny(decided.decision_amount)})
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": dispute,
            "title": gettext("Arbitrate: %(dispute)s") % {"dispute": dispute},
            "form": form,
            "change_url": change_url,
            "summary": [
                (gettext("Order"), self.order(dispute)),
                (gettext("Merchant"), self.merchant(dispute)),
                (gettext("Amount asked"), format_cny(asked)),
            ],
            "lines": self.lines_table(dispute),
            "statements": self.statements(dispute),
        }
        return TemplateResponse(request, "admin/orders/dispute/arbitrate.html", context)


@admin.register(ShippingRate)
class ShippingRateAdmin(ReadOnlyAdmin):
    """Read-only here: merchants set their fee in the portal (orders.services.shipping_rate_set)."""

    list_display = ["merchant", "flat_fee", "free_over"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]
    list_select_related = ["merchant"]
