"""Orders: after-sales requests and their lines, disputes, reviews, complaints and photos."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.transitions import Transitions
from merchants.models import private_storage

from ..choices import (
    AfterSalesKind,
    AfterSalesStatus,
    ComplaintCategory,
    ComplaintProgress,
    ComplaintStatus,
    DisputeStatus,
)
from ..errors import OrderInvalidTransition
from ..masking import mask_name
from .payments import Refund
from .placed import MerchantOrder, OrderLine


class AfterSalesRequest(models.Model):
    """A buyer's request for a refund (or a return and refund) on lines of a merchant order."""

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="after_sales"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AfterSalesKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=AfterSalesStatus.choices, default=AfterSalesStatus.OPEN
    )
    reason = models.TextField(_("reason"))
    shipping_amount = models.DecimalField(_("shipping refund requested"), max_digits=14, decimal_places=2, default=0)
    respond_by = models.DateTimeField(_("merchant must answer by"))
    merchant_note = models.TextField(_("merchant's answer"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    refund = models.OneToOneField(
        Refund, verbose_name=_("refund"), null=True, blank=True, on_delete=models.PROTECT, related_name="after_sales"
    )

    class Meta:
        verbose_name = _("after-sales request")
        verbose_name_plural = _("after-sales requests")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"AS{self.pk}"

    @property
    def total(self):
        return sum((line.amount for line in self.lines.all()), 0) + self.shipping_amount

    # Who may do what now, asked once here by the services' table, the pages and the portal.
    @property
    def can_answer(self) -> bool:
        """The merchant may accept or reject it."""
        return AFTER_SALES_TRANSITIONS.can("reject", self)

    @property
    def can_receive_return(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("return_received", self)

    @property
    def can_escalate(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("escalate", self)

    @property
    def can_withdraw(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("withdraw", self)


# Accepting a refund pays it at once; accepting a return waits for the goods, whose receipt
# pays it; a rejected request may be escalated to a dispute, whose decision refunds or closes it.
AFTER_SALES_TRANSITIONS = Transitions(
    {
        "accept_return": ({AfterSalesStatus.OPEN}, AfterSalesStatus.AWAITING_RETURN),
        "accept_refund": ({AfterSalesStatus.OPEN}, AfterSalesStatus.REFUNDED),
        "return_received": ({AfterSalesStatus.AWAITING_RETURN}, AfterSalesStatus.REFUNDED),
        "reject": ({AfterSalesStatus.OPEN}, AfterSalesStatus.REJECTED),
        "escalate": ({AfterSalesStatus.REJECTED}, AfterSalesStatus.ESCALATED),
        "resolve_refund": ({AfterSalesStatus.ESCALATED}, AfterSalesStatus.REFUNDED),
        "resolve_close": ({AfterSalesStatus.ESCALATED}, AfterSalesStatus.CLOSED),
        "withdraw": ({AfterSalesStatus.OPEN, AfterSalesStatus.REJECTED}, AfterSalesStatus.CLOSED),
    },
    error=OrderInvalidTransition,
    refusal=_("This cannot be done while the request is “%(status)s”."),
    extra_action=False,
)


class AfterSalesLine(models.Model):
    request = models.ForeignKey(
        AfterSalesRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("after-sales line")
        verbose_name_plural = _("after-sales lines")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="after_sales_line_amount_positive")]

    def __str__(self):
        return f"{self.order_line_id}: {self.amount}"


class Dispute(models.Model):
    """An escalated after-sales request, decided by platform operations. While open, the
    merchant order's money is frozen (settlement does not pay it)."""

    request = models.OneToOneField(
        AfterSalesRequest, verbose_name=_("after-sales request"), on_delete=models.PROTECT, related_name="dispute"
    )
    status = models.CharField(_("status"), max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    buyer_statement = models.TextField(_("buyer's statement"))
    decision_amount = models.DecimalField(_("refund decided"), max_digits=14, decimal_places=2, null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    arbiter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["opened_at", "id"]

    def __str__(self):
        return f"D{self.pk}"


DISPUTE_TRANSITIONS = Transitions(
    {"resolve": ({DisputeStatus.OPEN}, DisputeStatus.RESOLVED)},
    error=OrderInvalidTransition,
    refusal=_("This dispute is already decided."),
    extra_action=False,
)


class Review(models.Model):
    """A buyer's rating (1–5) of a completed order line; one per line."""

    order_line = models.OneToOneField(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="review"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="reviews"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    # The reviewed product (the line's SKU's), kept so the product page lists its reviews
    # along an index instead of joining lines and SKUs.
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("review"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    # The merchant's one public reply (orders.services.reviews.review_reply).
    reply = models.TextField(_("merchant's reply"), blank=True)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    # Operations hide a malicious review (with a reason, audited): hidden reviews are shown
    # nowhere public and leave the product's and the shop's averages.
    is_hidden = models.BooleanField(_("hidden"), default=False)
    hidden_reason = models.TextField(_("reason for hiding"), blank=True)
    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"),
            models.CheckConstraint(
                condition=Q(is_hidden=False) | ~Q(hidden_reason=""), name="review_hidden_has_reason"
            ),
            models.CheckConstraint(condition=Q(reply="") | Q(replied_at__isnull=False), name="review_reply_has_date"),
        ]
        indexes = [
            models.Index(
                fields=["product", "-created_at", "-id"],
                condition=Q(is_hidden=False),
                name="review_product_visible_idx",
            ),
        ]

    def __str__(self):
        return f"{self.rating}★ {self.order_line_id}"

    @property
    def author(self) -> str:
        """The buyer as the public sees them: the first character of their name (orders.masking)."""
        return mask_name(self.buyer.display_name)


class Complaint(models.Model):
    """A buyer's complaint about a merchant order; feeds the credit rating."""

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="complaints"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="complaints"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(_("category"), max_length=30, choices=ComplaintCategory.choices)
    text = models.TextField(_("complaint"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    # Operations' handling (orders.services.reviews): assigned to a staff user, answered,
    # resolved by `respond_by` (COMPLAINT_RESPONSE_HOURS after it was made; overdue after).
    status = models.CharField(
        _("status"), max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN, db_index=True
    )
    respond_by = models.DateTimeField(_("resolve by"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    response = models.TextField(_("response"), blank=True)
    # When the response shown to the buyer was last written (by answering or resolving).
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="resolved") | (Q(resolved_at__isnull=False) & ~Q(response="")),
                name="complaint_resolved_has_response",
            ),
            models.CheckConstraint(
                condition=Q(response="") | Q(responded_at__isnull=False), name="complaint_response_has_date"
            ),
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.merchant_order_id}"

    @property
    def progress(self) -> str:
        """What the buyer sees of the handling (ComplaintProgress)."""
        if self.status == ComplaintStatus.RESOLVED:
            return ComplaintProgress.RESOLVED
        if self.assignee_id is not None or self.response:
            return ComplaintProgress.IN_PROGRESS
        return ComplaintProgress.OPEN

    def get_progress_display(self) -> str:
        return ComplaintProgress(self.progress).label


# action → (states it may start from, state it leads to): operations' handling of a complaint
# (orders.services.reviews); "respond" and "assign" keep it open, "resolve" closes it for good.
COMPLAINT_TRANSITIONS = Transitions(
    {
        "assign": ({ComplaintStatus.OPEN}, ComplaintStatus.OPEN),
        "respond": ({ComplaintStatus.OPEN}, ComplaintStatus.OPEN),
        "resolve": ({ComplaintStatus.OPEN}, ComplaintStatus.RESOLVED),
    },
    error=OrderInvalidTransition,
    refusal=_("This complaint is already resolved."),
    extra_action=False,
)


def _review_photo_path(instance, filename):
    return f"reviews/{instance.review_id}/{instance.sha256}.jpg"


class ReviewPhoto(models.Model):
    """A picture the buyer attached to a review: validated and re-encoded as the after-sales
    photos are (catalog.images), stored privately and served only while the review is shown
    (orders.selectors.reviews.review_photo_get_public)."""

    review = models.ForeignKey(Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_review_photo_path, storage=private_storage, max_length=255)
    sha256 = models.CharField(_("content hash"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("review photo")
        verbose_name_plural = _("review photos")
        ordering = ["review_id", "id"]
        constraints = [models.UniqueConstraint(fields=["review", "sha256"], name="review_photo_unique")]

    def __str__(self):
        return f"{self.review_id}/{self.pk}"


def _photo_path(instance, filename):
    return f"after-sales/{instance.request_id}/{instance.sha256}.jpg"


class AfterSalesPhoto(models.Model):
    """A photo the buyer attached to an after-sales request (evidence: private file, shown
    only to the buyer, the merchant's members whose role covers orders and staff allowed
    `orders.after_sales_photo_view`; see selectors.after_sales_photo_get_for_user)."""

    request = models.ForeignKey(
        AfterSalesRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to=_photo_path, storage=private_storage, max_length=255)
    sha256 = models.CharField(_("content hash"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("after-sales photo")
        verbose_name_plural = _("after-sales photos")
        ordering = ["request_id", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "sha256"], name="after_sales_photo_unique")]

    def __str__(self):
        return f"{self.request_id}/{self.pk}"
