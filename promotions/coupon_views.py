"""Buyer pages of coupons: the coupon centre (claimable coupons, open to everyone), claiming
one (or by a public code), and "my coupons" by tab.

Pages read through the buyer-scoped selectors and each POST calls one service; a
`DomainError` becomes a message saying why. Staff use the admin: claiming answers them 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from marketplace.errors import DomainError
from marketplace.shortcuts import found_or_404

from . import selectors, services
from .choices import CouponState

COUPONS_PER_PAGE = 12
TAB_LABELS = {
    CouponState.AVAILABLE: gettext_lazy("Available"),
    CouponState.USED: gettext_lazy("Used"),
    CouponState.EXPIRED: gettext_lazy("Expired"),
}


class ClaimCodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Coupon code"), max_length=32)


def _not_staff(request) -> None:
    if request.user.is_staff:
        raise Http404


@require_safe
def centre(request):
    promotions = selectors.coupon_promotion_list_claimable(buyer=request.user)
    page = Paginator(promotions, COUPONS_PER_PAGE).get_page(request.GET.get("page"))
    for promotion in page.object_list:
        promotion.claimed = selectors.promotion_claimed_by(promotion)
        left = selectors.promotion_coupons_left(promotion)
        promotion.used_up = left is not None and left <= 0
        promotion.limit_reached = (
            promotion.per_buyer_limit is not None and promotion.claimed >= promotion.per_buyer_limit
        )
    return render(request, "storefront/promotions/coupon_centre.html", {"page": page, "code_form": ClaimCodeForm()})


def _claimed(request, call) -> None:
    try:
        coupon = call()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Coupon claimed: %(name)s. Its code is %(code)s.") % {"name": coupon.promotion.name, "code": coupon.code},
        )


@login_required
@require_POST
def claim(request, promotion_id: int):
    _not_staff(request)
    promotion = found_or_404(selectors.coupon_promotion_list_claimable().filter(pk=promotion_id).first())
    _claimed(request, lambda: services.coupon_claim(promotion=promotion, buyer=request.user))
    return redirect("coupons:centre")


@login_required
@require_POST
def claim_code(request):
    _not_staff(request)
    form = ClaimCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a coupon code."))
        return redirect("coupons:centre")
    _claimed(request, lambda: services.coupon_claim_code(buyer=request.user, code=form.cleaned_data["code"]))
    return redirect("coupons:mine")


@login_required
@require_safe
def mine(request):
    tab = request.GET.get("state", CouponState.AVAILABLE)
    if tab not in selectors.COUPON_TABS:
        tab = CouponState.AVAILABLE
    now = timezone.now()
    coupons = selectors.coupon_list_for_buyer(buyer=request.user, tab=tab, now=now)
    page = Paginator(coupons, COUPONS_PER_PAGE).get_page(request.GET.get("page"))
    tabs = [(state, TAB_LABELS[state]) for state in selectors.COUPON_TABS]
    return render(request, "storefront/promotions/my_coupons.html", {"page": page, "tab": tab, "tabs": tabs})
