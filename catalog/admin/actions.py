"""The action buttons of the catalog's staff pages: for each, a confirmation form and the
one service it calls.

Listing moderation needs `catalog.change_product`, revision moderation
`catalog.change_productrevision`, commission rates `catalog.change_category`. An action's
`available` only decides whether its button shows: the service is the authority, and
re-checks under lock.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ActionForm, ConfirmForm, ObjectAction

from .. import permissions, services
from ..models import (
    LISTING_TRANSITIONS,
    MAX_COMMISSION_RATE,
    MIN_COMMISSION_RATE,
    REVISION_TRANSITIONS,
    Category,
    Product,
    ProductRevision,
)


def percent(rate: Decimal | None) -> str:
    """0.1250 → "12.50 %"; None → "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.2f} %"


# --- Action forms --------------------------------------------------------------------


class NoteForm(ActionForm):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. The merchant will see it."),
    )


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("The merchant will see it.")
    )
    error_fields = {"reason_required": "reason"}


class CommissionRateForm(ActionForm):
    rate = forms.DecimalField(
        label=_("New commission rate"),
        required=False,
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(MIN_COMMISSION_RATE), MaxValueValidator(MAX_COMMISSION_RATE)],
        help_text=_("Fraction between 0.05 and 0.15 (0.1000 = 10 %); empty to inherit from the parent category."),
    )
    error_fields = {"invalid_commission_rate": "rate"}

    def __init__(self, *args, obj: Category, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["rate"].initial = obj.commission_rate


# --- Actions -------------------------------------------------------------------------


def _approve_listing(request, product: Product, data) -> str:
    approved = services.product_approve(product=product, actor=request.user, reason=data["note"].strip())
    return gettext("“%(product)s” is approved and on sale.") % {"product": approved}


def _reject_listing(request, product: Product, data) -> str:
    rejected = services.product_reject(product=product, actor=request.user, reason=data["reason"])
    return gettext("“%(product)s” is rejected; the merchant sees your reason.") % {"product": rejected}


def _feature(request, product: Product, data) -> str:
    services.product_set_featured(product=product, featured=True, actor=request.user)
    return gettext("“%(product)s” is featured on the home page.") % {"product": product}


def _unfeature(request, product: Product, data) -> str:
    services.product_set_featured(product=product, featured=False, actor=request.user)
    return gettext("“%(product)s” is no longer featured on the home page.") % {"product": product}


def _approve_revision(request, revision: ProductRevision, data) -> str:
    product = services.revision_approve(revision=revision, actor=request.user)
    return gettext("The changes to “%(product)s” are approved: buyers see them now.") % {"product": product}


def _reject_revision(request, revision: ProductRevision, data) -> str:
    services.revision_reject(revision=revision, actor=request.user, reason=data["reason"])
    return gettext("The changes to “%(product)s” are rejected: buyers keep seeing the approved version.") % {
        "product": revision.product
    }


def _set_rate(request, category: Category, data) -> str:
    old = category.commission_rate
    changed = services.category_set_rate(category=category, rate=data["rate"], actor=request.user)
    if changed.commission_rate == old:
        return gettext("The commission rate of “%(category)s” was already %(rate)s: nothing changed.") % {
            "category": changed,
            "rate": percent(old) if old is not None else gettext("inherited"),
        }
    return gettext("The commission rate of “%(category)s” is now %(new)s (was %(old)s).") % {
        "category": changed,
        "new": percent(changed.commission_rate) if changed.commission_rate is not None else gettext("inherited"),
        "old": percent(old) if old is not None else gettext("inherited"),
    }


PRODUCT_ACTIONS = [
    ObjectAction(
        "approve",
        _("Approve"),
        NoteForm,
        _approve_listing,
        LISTING_TRANSITIONS.predicate("approve"),
        permissions.PRODUCT_APPROVE,
        help_text=_("The listing is published and its pictures are shown to buyers."),
    ),
    ObjectAction(
        "reject",
        _("Reject"),
        ReasonForm,
        _reject_listing,
        LISTING_TRANSITIONS.predicate("reject"),
        permissions.PRODUCT_REJECT,
        help_text=_("The merchant can correct the listing and submit it again."),
    ),
    ObjectAction(
        "feature",
        _("Feature on the home page"),
        ConfirmForm,
        _feature,
        lambda product: product.is_published and not product.is_featured,
        permissions.PRODUCT_FEATURE,
        help_text=_("Featured products on sale are shown on the home page, after new shops' products."),
    ),
    ObjectAction(
        "unfeature",
        _("Stop featuring"),
        ConfirmForm,
        _unfeature,
        lambda product: product.is_featured,
        permissions.PRODUCT_UNFEATURE,
    ),
]

REVISION_ACTIONS = [
    ObjectAction(
        "approve",
        _("Approve changes"),
        ConfirmForm,
        _approve_revision,
        REVISION_TRANSITIONS.predicate("approve"),
        permissions.REVISION_APPROVE,
        help_text=_("The published product takes the revision's content; pictures it removes are deleted."),
    ),
    ObjectAction(
        "reject",
        _("Reject changes"),
        ReasonForm,
        _reject_revision,
        REVISION_TRANSITIONS.predicate("reject"),
        permissions.REVISION_REJECT,
        help_text=_("Buyers keep seeing the approved version; pictures the revision added are deleted."),
    ),
]

CATEGORY_ACTIONS = [
    ObjectAction(
        "change_rate",
        _("Change commission rate"),
        CommissionRateForm,
        _set_rate,
        lambda category: True,
        permissions.CATEGORY_SET_RATE,
        help_text=_(
            "Orders placed after the change use the new rate. Subcategories without a rate of their own follow it."
        ),
    ),
]
