"""The operations dashboard in the admin (/admin/dashboards/operations/): GMV, paid orders and
after-sales per day over 30 or 90 days (`?days=`), live merchants by tier and merchants by
status, the launch phase's recruitment targets (200 core merchants, 100,000 SKUs on sale) with
progress bars, and each category's TOP50 brand coverage against the growth phase's 60 %
(domain.md "What people expect around it").

A plain admin view, as the promotions' marketing pages (not a ModelAdmin's): `admin_view`
(staff signed in, else the admin's login) and `staff_view` with its declaration,
`permissions.OPERATIONS_DASHBOARD_VIEW` (others 403). It sits in orders, the highest app whose
figures it shows; it reads merchants and catalog through their selectors. Every figure is
aggregated in SQL: seven queries whatever the number of merchants and orders (a test counts
them). With 10,000 merchants and 300,000 orders they take about 0.7–0.8 s (four times a bare
COUNT(*) of the orders, `bench/dashboards.py`): whole-table aggregates, the same for every
operations user, so the page keeps them in the cache (Redis) for `CACHE_SECONDS` and says when
they were read.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.core.cache import cache
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_safe

from catalog import selectors as catalog_selectors
from marketplace.admin_tools import staff_view
from merchants import selectors as merchant_selectors
from merchants.choices import MerchantStatus

from . import permissions
from .selectors import dashboards

app_name = "operations_dashboard"

#: How long the figures are kept in the cache (seconds): a day's figures move slowly, and five
#: minutes spare the database the same whole-table aggregates for every page view.
CACHE_SECONDS = 300

#: The launch phase's recruitment targets (the proposal; domain.md).
CORE_MERCHANTS_TARGET = 200
SKUS_TARGET = 100_000
#: The growth phase's TOP50 brand coverage target, per category (%).
BRAND_COVERAGE_TARGET = Decimal("60")


def _progress(current: int, target: int) -> dict:
    # Capped at 100 for the bar; the figure itself shows any excess.
    percent = min(100, current * 100 // target)
    return {"current": current, "target": target, "percent": percent, "reached": current >= target}


def operations_figures(*, days: int) -> dict:
    """Every figure of the page (the template's context), read in SQL."""
    series = dashboards.platform_sales_daily(days=days)
    by_status = merchant_selectors.merchant_counts_by_status()
    by_tier = merchant_selectors.live_merchant_counts_by_tier()
    coverage = catalog_selectors.top_brand_coverage()
    listed = sum(row.listed for row in coverage)
    covered = sum(row.covered for row in coverage)
    return {
        "days": days,
        "series": series,
        **(dashboards.series_charts(series, sales_name=gettext("GMV")) if not series.is_empty else {}),
        "by_status": [(str(MerchantStatus(status).label), count) for status, count in by_status.items()],
        "by_tier": by_tier,
        "tier_chart": {
            "type": "bar",
            "categories": [name for _code, name, _n in by_tier],
            "series": [{"name": gettext("Live merchants"), "data": [n for _code, name, n in by_tier]}],
        },
        "core_target": _progress(merchant_selectors.live_core_merchant_count(), CORE_MERCHANTS_TARGET),
        "sku_target": _progress(catalog_selectors.sku_on_sale_count(), SKUS_TARGET),
        "coverage": coverage,
        "coverage_target": BRAND_COVERAGE_TARGET,
        "coverage_total": {
            "listed": listed,
            "covered": covered,
            "share": (Decimal(covered) * 100 / listed).quantize(Decimal("0.1")) if listed else None,
        },
    }


def _cached_figures(days: int) -> dict:
    # Per span and language: the figures carry translated labels (statuses, series names).
    key = f"dashboards:operations:{days}:{get_language()}"
    return cache.get_or_set(
        key, lambda: {**operations_figures(days=days), "read_at": timezone.now()}, timeout=CACHE_SECONDS
    )


def operations_dashboard(request):
    days = dashboards.dashboard_span(request.GET.get("days"))
    context = {
        **admin.site.each_context(request),
        "title": gettext("Operations dashboard"),
        "spans": dashboards.DASHBOARD_SPANS,
        "cache_minutes": CACHE_SECONDS // 60,
        **_cached_figures(days),
    }
    return TemplateResponse(request, "admin/dashboards/operations.html", context)


urlpatterns = [
    path(
        "",
        admin.site.admin_view(staff_view(require_safe(operations_dashboard), permissions.OPERATIONS_DASHBOARD_VIEW)),
        name="index",
    ),
]
