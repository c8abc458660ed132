"""Buyer pages of promotions: the buyer's membership level (under "My account")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors


@login_required
@require_safe
def membership(request):
    """The signed-in buyer's level, the spend it was decided on, what the next level needs,
    and every level; only ever the buyer's own (the selector takes the buyer)."""
    return render(request, "storefront/promotions/membership.html", {"view": selectors.membership_of(request.user)})
