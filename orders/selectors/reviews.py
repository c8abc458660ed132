"""Reads of reviews and complaints: the public product page's, the merchant portal's and the
photos' (only a shown review's pictures of a public product are served)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from catalog.selectors import product_public_queryset

from ..models import Complaint, Review, ReviewPhoto


def _with_photos(reviews: QuerySet[Review]) -> QuerySet[Review]:
    return reviews.prefetch_related(
        Prefetch("photos", queryset=ReviewPhoto.objects.order_by("id").only("id", "review_id"))
    )


def review_list_public(product_id: int) -> QuerySet[Review]:
    """The shown (not hidden) reviews of a product, newest first, with their photos' ids and
    the buyer (whose name the page masks): three queries a page, whatever its size."""
    reviews = Review.objects.filter(product_id=product_id, is_hidden=False).select_related("buyer")
    return _with_photos(reviews).order_by("-created_at", "-id")


def review_photo_get_public(photo_id: int) -> ReviewPhoto | None:
    """A picture of a shown review of a public product; anything else is not found (None)."""
    return (
        ReviewPhoto.objects.filter(
            pk=photo_id,
            review__is_hidden=False,
            review__product__in=product_public_queryset().values("pk"),
        )
        .only("id", "image")
        .first()
    )


def review_list_for_merchant(merchant, *, rating: int | None = None, replied: bool | None = None) -> QuerySet[Review]:
    """The merchant's reviews, newest first (hidden ones too, marked), with their photos;
    `rating` keeps one star count, `replied` those answered (True) or waiting (False)."""
    reviews = Review.objects.filter(merchant=merchant).select_related("order_line__merchant_order", "buyer")
    if rating is not None:
        reviews = reviews.filter(rating=rating)
    if replied is not None:
        reviews = reviews.exclude(reply="") if replied else reviews.filter(reply="")
    return _with_photos(reviews).order_by("-created_at", "-id")


def review_get_for_merchant(merchant, review_id) -> Review | None:
    """One of the merchant's reviews; None for another shop's (the view's 404)."""
    return review_list_for_merchant(merchant).filter(pk=review_id).first()


def complaint_list_for_merchant(merchant, *, status: str | None = None) -> QuerySet[Complaint]:
    """The complaints about the merchant's orders, newest first; `status` keeps open or
    resolved ones."""
    complaints = Complaint.objects.filter(merchant=merchant).select_related("merchant_order")
    if status:
        complaints = complaints.filter(status=status)
    return complaints.order_by("-created_at", "-id")


#: What the buyer who complained is shown of a complaint (never who handles it: the assignee's
#: id is read only to tell "in progress", see Complaint.progress).
_COMPLAINT_BUYER_FIELDS = (
    "id",
    "merchant_order_id",
    "category",
    "text",
    "created_at",
    "status",
    "assignee_id",
    "response",
    "responded_at",
    "resolved_at",
)


def complaints_for_buyer_order() -> QuerySet[Complaint]:
    """The complaints of a merchant order as its buyer sees them, oldest first: for a
    `Prefetch("complaints", ...)` of the buyer's order page and API (one query per page)."""
    return Complaint.objects.only(*_COMPLAINT_BUYER_FIELDS).order_by("created_at", "id")


def complaint_list_overdue(now) -> QuerySet[Complaint]:
    """Open complaints past their deadline (the admin's "overdue" filter)."""
    return Complaint.objects.filter(Q(status="open") & Q(respond_by__lt=now))
