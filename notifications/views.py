"""The notification centre (/notifications/): the signed-in user's notifications, newest first,
with mark-read and mark-all-read (POST), and their e-mail preferences. Every row comes from a
selector given the user, so another user's id answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.selectors import membership_for_user

from . import selectors, services
from .choices import NotificationKind as K
from .forms import PreferencesForm

PAGE_SIZE = 20

BUYER_KINDS = [K.ORDER_PAID, K.ORDER_SHIPPED, K.AFTER_SALES_DECIDED, K.REFUND_ISSUED, K.COMPLAINT_ANSWERED]
MERCHANT_KINDS = [
    K.NEW_ORDER,
    K.AFTER_SALES_REQUESTED,
    K.DISPUTE_OPENED,
    K.STATEMENT_READY,
    K.LOW_STOCK,
    K.SUBSIDY_DECIDED,
    K.PENALTY_RAISED,
    K.PENALTY_DECIDED,
    K.RISK_ALERT,
]
STAFF_KINDS = [K.APPLICATION_SUBMITTED, K.DISPUTE_TO_ARBITRATE]


def _kinds_for(user) -> list[str]:
    """The kinds this user can receive: a buyer's, plus a merchant member's, plus staff's."""
    kinds = list(BUYER_KINDS)
    if membership_for_user(user) is not None:
        kinds += MERCHANT_KINDS
    if user.is_staff:
        kinds += STAFF_KINDS
    return [str(kind) for kind in kinds]


def _back(request, default: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(default)


@login_required
@require_safe
def notification_list(request):
    unread = request.GET.get("show") == "unread"
    page = Paginator(selectors.notification_list(request.user, unread=unread), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/list.html", {"page": page, "unread_only": unread})


@login_required
@require_POST
def notification_read(request, notification_id: int):
    notification = found_or_404(selectors.notification_get(request.user, notification_id))
    services.notification_mark_read(notification=notification, user=request.user)
    if request.POST.get("open") and notification.link.startswith("/"):
        return redirect(notification.link)
    return _back(request, "notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(
        request,
        ngettext("%(count)s notification marked read.", "%(count)s notifications marked read.", count)
        % {"count": count},
    )
    return _back(request, "notifications:list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    kinds = _kinds_for(request.user)
    chosen = selectors.email_preferences(request.user)
    initial = {f"email_{kind}": chosen[kind] for kind in kinds}
    initial["language"] = selectors.email_language(request.user) or request.LANGUAGE_CODE
    form = PreferencesForm(request.POST or None, kinds=kinds, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.preferences_set(
                user=request.user, email=form.email_choices(), language=form.cleaned_data["language"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
