"""Reviews and complaints: written by buyers, answered by merchants, moderated by operations.

Guarantees:
- one review (1–5 stars) per completed order line, by its buyer (`already_reviewed`: the
  unique line); up to MAX_PHOTOS pictures, validated and re-encoded as after-sales photos
  are (catalog.images), all checked and decoded before anything is written;
- the product's and the shop's counters (marketplace.ratings) count exactly the visible
  reviews: they move with F() in the same transaction as the review written, hidden or shown
  again (catalog.services.ratings, merchants.services.ratings), so they never drift from the
  rows and concurrent reviews never lose an update;
- a review is hidden or shown again under its row's lock, each once (`already_hidden`,
  `not_hidden`), with a reason, audited; the merchant replies once (`already_replied`) and
  only to its own reviews (else `not_found`, 404);
- a complaint is resolved by operations within COMPLAINT_RESPONSE_HOURS (`respond_by`); it is
  assigned to a staff user, answered and resolved under its row's lock, each change audited;
  a resolved complaint changes no more (`invalid_transition`); each response is dated
  (`responded_at`) and told to the buyer who complained (notification `complaint_answered`).
Locks, in this order: the review (or complaint) row, then the product row, then the shop row.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.images import check_product_image, clean_product_image
from catalog.services.ratings import product_rating_apply
from marketplace.audit import audit_record
from marketplace.errors import NotFoundError
from marketplace.transitions import transition
from merchants.services.ratings import merchant_rating_apply

from ..choices import COMPLAINT_RESPONSE_HOURS, ComplaintCategory
from ..errors import OrderConflict, OrderError, OrderInvalidTransition
from ..models import COMPLAINT_TRANSITIONS, Complaint, MerchantOrder, OrderLine, Review, ReviewPhoto
from . import notices

#: Pictures a review may carry at most (as an after-sales request).
MAX_PHOTOS = 5
#: The longest review, reply or complaint text kept.
MAX_TEXT = 2000


def _apply(review: Review, sign: int) -> None:
    # The review's stars join (+1) or leave (-1) its product's and its shop's counters.
    product_rating_apply(product_id=review.product_id, count=sign, total=sign * review.rating)
    merchant_rating_apply(merchant_id=review.merchant_id, count=sign, total=sign * review.rating)


def review_create(*, order_line: OrderLine, buyer, rating: int, text: str = "", photos=()) -> Review:
    """One review (1–5 stars) per completed line, by its buyer, with up to MAX_PHOTOS
    pictures (checked and re-encoded before the transaction). In one transaction: the review,
    its pictures and the product's and shop's counters; a second review of the line is
    refused (`already_reviewed`) and leaves everything as it was."""
    photos = list(photos or [])
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise OrderError("invalid_rating", _("Give 1 to 5 stars."))
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise OrderError("text_too_long", _("Write at most %(n)d characters.") % {"n": MAX_TEXT})
    if len(photos) > MAX_PHOTOS:
        raise OrderError("too_many_photos", _("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS})
    order = order_line.merchant_order
    if order.buyer_order.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    if not order.can_review:
        raise OrderInvalidTransition(
            message=_("You can review once the order is completed."), extra={"status": order.status}
        )
    for photo in photos:
        check_product_image(photo)
    cleaned = {c.sha256: c for c in (clean_product_image(p) for p in photos)}
    product_id = OrderLine.objects.filter(pk=order_line.pk).values_list("sku__product_id", flat=True).get()
    with transaction.atomic():
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    order_line=order_line,
                    merchant_id=order_line.merchant_id,
                    product_id=product_id,
                    buyer=buyer,
                    rating=rating,
                    text=text,
                )
        except IntegrityError as exc:
            raise OrderConflict("already_reviewed", _("You have already reviewed this item.")) from exc
        for sha256, clean in cleaned.items():
            photo = ReviewPhoto(review=review, sha256=sha256)
            photo.image.save("photo.jpg", ContentFile(clean.content), save=False)
            photo.save()
        _apply(review, +1)
    return review


def _lock_review(review_id: int, *, merchant=None) -> Review:
    reviews = Review.objects.select_for_update(of=("self",))
    if merchant is not None:
        reviews = reviews.filter(merchant=merchant)
    review = reviews.filter(pk=review_id).first()
    if review is None:
        raise NotFoundError()
    return review


@transaction.atomic
def review_reply(*, merchant, review_id: int, actor, text: str) -> Review:
    """The merchant's one public reply to a review of its own (another shop's review:
    `not_found`). Under the review's lock: a second reply is refused (`already_replied`)."""
    text = (text or "").strip()
    if not text:
        raise OrderError("reply_required", _("Write your reply."))
    if len(text) > MAX_TEXT:
        raise OrderError("text_too_long", _("Write at most %(n)d characters.") % {"n": MAX_TEXT})
    review = _lock_review(review_id, merchant=merchant)
    if review.reply:
        raise OrderConflict("already_replied", _("You have already replied to this review."))
    review.reply, review.replied_at = text, timezone.now()
    review.save(update_fields=["reply", "replied_at"])
    audit_record(action="review.replied", actor=actor, obj=review)
    return review


@transaction.atomic
def review_hide(*, review_id: int, actor, reason: str) -> Review:
    """Operations hide a malicious review (a reason is required; audited). Under the review's
    lock, once (`already_hidden`); its stars leave the product's and the shop's counters in
    the same transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise OrderError("reason_required", _("Say why the review is hidden."))
    review = _lock_review(review_id)
    if review.is_hidden:
        raise OrderConflict("already_hidden", _("This review is already hidden."))
    review.is_hidden, review.hidden_reason, review.hidden_at = True, reason, timezone.now()
    review.save(update_fields=["is_hidden", "hidden_reason", "hidden_at"])
    _apply(review, -1)
    audit_record(action="review.hidden", actor=actor, obj=review, reason=reason)
    return review


@transaction.atomic
def review_show(*, review_id: int, actor, reason: str) -> Review:
    """Undo `review_hide` (a reason is required; audited): under the review's lock, once
    (`not_hidden`); its stars count again in the same transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise OrderError("reason_required", _("Say why the review is shown again."))
    review = _lock_review(review_id)
    if not review.is_hidden:
        raise OrderConflict("not_hidden", _("This review is not hidden."))
    review.is_hidden, review.hidden_reason, review.hidden_at = False, "", None
    review.save(update_fields=["is_hidden", "hidden_reason", "hidden_at"])
    _apply(review, +1)
    audit_record(action="review.shown", actor=actor, obj=review, reason=reason)
    return review


# --- Complaints -------------------------------------------------------------------------------


@transaction.atomic
def complaint_create(*, order: MerchantOrder, buyer, category: str, text: str) -> Complaint:
    """A complaint about a merchant order (paid or later), for operations to resolve within
    COMPLAINT_RESPONSE_HOURS (`respond_by`)."""
    if category not in ComplaintCategory.values:
        raise OrderError("invalid_category", _("Choose what the complaint is about."))
    if not (text or "").strip():
        raise OrderError("text_required", _("Describe the problem."))
    if order.buyer_order.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    if not order.can_complain:
        raise OrderInvalidTransition(
            message=_("Complaints are possible once the order is paid."), extra={"status": order.status}
        )
    return Complaint.objects.create(
        merchant_order=order,
        merchant_id=order.merchant_id,
        buyer=buyer,
        category=category,
        text=text.strip(),
        respond_by=timezone.now() + timedelta(hours=COMPLAINT_RESPONSE_HOURS),
    )


def _complaint_transition(complaint_id: int, action: str, *, actor, changes: dict, audit: str) -> Complaint:
    # Through the table (marketplace.transitions): the row locked, an open complaint checked,
    # one UPDATE, the audit row in the same transaction.
    complaint = Complaint.objects.filter(pk=complaint_id).first()
    if complaint is None:
        raise NotFoundError()
    return transition(
        complaint,
        action,
        table=COMPLAINT_TRANSITIONS,
        changes=changes,
        record=lambda row, previous: audit_record(
            action=audit, actor=actor, obj=row, data={"assignee": row.assignee_id} if action == "assign" else None
        ),
    )


@transaction.atomic
def complaint_assign(*, complaint_id: int, assignee, actor) -> Complaint:
    """Give an open complaint to a staff user (`assignee_not_staff` otherwise; a resolved one:
    `invalid_transition`). Under the complaint's lock; audited."""
    if assignee is None or not assignee.is_staff or not assignee.is_active:
        raise OrderError("assignee_not_staff", _("Assign the complaint to an active staff user."))
    return _complaint_transition(
        complaint_id, "assign", actor=actor, changes={"assignee": assignee}, audit="complaint.assigned"
    )


@transaction.atomic
def complaint_respond(*, complaint_id: int, actor, response: str, resolve: bool = False) -> Complaint:
    """Record operations' response to an open complaint (and when: `responded_at`, shown to
    the buyer) and, with `resolve`, close it (then it changes no more: `invalid_transition`).
    Under the complaint's lock; audited; the buyer is told (notification `complaint_answered`,
    its e-mail sent after commit)."""
    response = (response or "").strip()
    if not response:
        raise OrderError("response_required", _("Write the response."))
    now = timezone.now()
    if resolve:
        complaint = _complaint_transition(
            complaint_id,
            "resolve",
            actor=actor,
            changes={"response": response, "responded_at": now, "resolved_at": now},
            audit="complaint.resolved",
        )
    else:
        complaint = _complaint_transition(
            complaint_id,
            "respond",
            actor=actor,
            changes={"response": response, "responded_at": now},
            audit="complaint.responded",
        )
    notices.complaint_answered(complaint, resolved=resolve)
    return complaint
