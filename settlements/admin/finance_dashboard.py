"""Finance's page of a settlement period in the admin (/admin/dashboards/finance/?period=):
the period's settlement runs, its statements by state (counts and payable), the payouts of its
statements by state (sent, paid, failed), and the money movements the ledger is missing (the
reconciliation's `unposted_*` reads), each with a link to the admin list it sums up and to the
full reconciliation report of the period.

The period shown by default is the last one that has ended (`selectors.dashboard_period`): a
month is settled after it ends. A plain admin view like the promotions' marketing pages:
`admin_view` (staff signed in, else the admin's login) and `staff_view` with its declaration,
`permissions.FINANCE_DASHBOARD_VIEW` (others 403). Eight queries whatever the number of
merchants (a test counts them).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from marketplace.admin_tools import staff_view

from .. import permissions, selectors
from ..choices import PayoutStatus, StatementStatus
from ..periods import Period

app_name = "finance_dashboard"


class PeriodForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("e.g. 2026-10"))

    def clean_period(self):
        value = self.cleaned_data["period"]
        try:
            return str(Period.parse(value))
        except ValueError:
            raise forms.ValidationError(_("A period looks like 2026-10."), code="invalid_period") from None


def _admin_list(name: str, **query) -> str:
    url = reverse(f"admin:settlements_{name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def finance_dashboard(request):
    form = PeriodForm(request.GET or {"period": selectors.dashboard_period()})
    context = {**admin.site.each_context(request), "title": gettext("Finance: the period"), "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/dashboards/finance.html", context, status=400)
    period = form.cleaned_data["period"]
    summary = selectors.finance_period_summary(period=period)
    statement_chart = {
        "type": "bar",
        "categories": [str(row.label) for row in summary.statements],
        "series": [{"name": gettext("Payable"), "data": [float(row.amount) for row in summary.statements]}],
        "unit": "¥",
    }
    payout_chart = {
        "type": "pie",
        "categories": [str(row.label) for row in summary.payouts],
        "series": [{"name": gettext("Payouts"), "data": [float(row.amount) for row in summary.payouts]}],
    }
    context.update(
        summary=summary,
        statement_chart=statement_chart if any(row.count for row in summary.statements) else None,
        payout_chart=payout_chart if any(row.count for row in summary.payouts) else None,
        runs_url=_admin_list("settlementrun", period=period),
        statement_urls={
            status: _admin_list("statement", period=period, status__exact=status) for status in StatementStatus.values
        },
        statements_url=_admin_list("statement", period=period),
        payout_urls={status: _admin_list("payout", status__exact=status) for status in PayoutStatus.values},
        journal_url=_admin_list("journalentry"),
        reconciliation_url=reverse("admin:settlements_statement_reconciliation") + "?" + urlencode({"period": period}),
        previous_url="?" + urlencode({"period": str(Period.parse(period).previous)}),
        next_url="?" + urlencode({"period": str(Period.parse(period).next)}),
    )
    return TemplateResponse(request, "admin/dashboards/finance.html", context)


urlpatterns = [
    path(
        "",
        admin.site.admin_view(staff_view(require_safe(finance_dashboard), permissions.FINANCE_DASHBOARD_VIEW)),
        name="index",
    ),
]
