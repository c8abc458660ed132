"""`{% dashboard_links %}`: the admin index's links to the dashboards (operations, finance),
each shown to the staff its declaration allows (the same declaration the page checks)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext

from orders import permissions as order_permissions
from settlements import permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_links(context) -> list[dict]:
    user = context["request"].user
    pages = [
        (order_permissions.OPERATIONS_DASHBOARD_VIEW, gettext("Operations dashboard"), "operations_dashboard:index"),
        (permissions.FINANCE_DASHBOARD_VIEW, gettext("Finance: the period"), "finance_dashboard:index"),
    ]
    return [{"label": label, "url": reverse(url)} for action, label, url in pages if action.allows(user)]
