"""The marketing view of a promotion, a flash sale or a group-buy campaign: cost by funder,
orders and GMV touched, new buyers and ROI, over its life and per day of its window, as a page
with charts and as CSV.

The figures come from `orders.selectors.source_marketing(_daily)` (promotions may not read
orders: these views are the interface ring, which may), the page from one `Subject` whatever
the source. The merchant's portal pages are here (/portal/promotions/…/marketing/: its own
promotions, flash sales and group buys only, another shop's id is 404); the operations pages
in the admin (`promotions.admin.marketing`) reuse the charts, the ROI's display and the CSV
files below, so both read the same figures the same way.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from marketplace.csvfiles import csv_lines
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view
from orders import selectors as order_selectors
from orders.selectors import NO_FIGURES

from . import selectors
from .choices import FlashSaleState

# The portal section of the shop's promotions (the owner and the members it covers).
SECTION = PortalSection.PROMOTIONS
# Menu key, for merchants.views._menu to highlight the current entry.
MENU = "promotions_marketing"
PAGE_SIZE = 25
# Flash sales and group buys are in the portal's catalog section (their own pages are), and
# their figures under their own menu entries.
CATALOG = PortalSection.CATALOG
MENU_FLASH_SALES = "promotions_flash_sales"
MENU_GROUP_BUYS = "catalog_group_buys"


@dataclass(frozen=True)
class Subject:
    """What a marketing page shows the figures of: a promotion, a flash sale or a group buy."""

    source: str  # a key of orders.selectors.SOURCES
    pk: int
    name: str
    status: str  # as shown
    facts: tuple[str, ...]  # shown before the status in the admin (level, shop, funding)
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    file_stem: str  # of its CSV file

    @property
    def csv_name(self) -> str:
        return f"{self.file_stem}-marketing.csv"


def promotion_subject(promotion) -> Subject:
    facts = (promotion.get_level_display(), *([str(promotion.merchant)] if promotion.merchant_id else []))
    return Subject(
        "promotion",
        promotion.pk,
        promotion.name,
        promotion.get_status_display(),
        facts,
        promotion.starts_at,
        promotion.ends_at,
        f"promotion-{promotion.pk}",
    )


def flash_sale_subject(sale) -> Subject:
    """Of a sale read with its SKU and merchant."""
    return Subject(
        "flash_sale",
        sale.pk,
        gettext("Flash sale #%(id)s: %(sku)s") % {"id": sale.pk, "sku": sale.sku.code},
        str(FlashSaleState(selectors.flash_sale_state(sale, timezone.now())).label),
        (str(sale.merchant), sale.get_funding_display()),
        sale.starts_at,
        sale.ends_at,
        f"flash-sale-{sale.pk}",
    )


def group_buy_subject(campaign) -> Subject:
    """Of a campaign read with its merchant. Its days run from the first day groups may
    open (payments after its end widen them: `source_marketing_daily`)."""
    return Subject(
        "group_buy",
        campaign.pk,
        campaign.name,
        campaign.get_status_display(),
        (str(campaign.merchant),),
        campaign.starts_at,
        campaign.ends_at,
        f"group-buy-{campaign.pk}",
    )


def roi_display(figures) -> str:
    """ "12.4 : 1" (GMV touched per yuan of cost), "—" without cost."""
    roi = figures.roi
    return "—" if roi is None else f"{roi} : 1"


def window_days(subject: Subject) -> tuple[datetime.date, datetime.date]:
    """The days of the subject's window so far, in the platform's time zone (a window that
    has not started yet shows its first day)."""
    first = timezone.localdate(subject.starts_at)
    last = min(timezone.localdate(subject.ends_at), timezone.localdate())
    return first, max(first, last)


def daily(subject: Subject) -> list[tuple[datetime.date, object]]:
    first, last = window_days(subject)
    return order_selectors.source_marketing_daily(subject.source, subject.pk, first_day=first, last_day=last)


def charts(days) -> dict:
    """The two charts of the page (specs for `{% chart %}`): cost by funder per day, and the
    GMV it touched per day (their scales differ by an order of magnitude)."""
    categories = [day.strftime("%m-%d") for day, _f in days]
    return {
        "cost_chart": {
            "type": "bar",
            "categories": categories,
            "series": [
                {"name": gettext("Merchant-funded"), "data": [float(f.merchant_cost) for _d, f in days]},
                {"name": gettext("Platform-funded"), "data": [float(f.platform_cost) for _d, f in days]},
            ],
            "unit": "¥",
        },
        "gmv_chart": {
            "type": "line",
            "categories": categories,
            "series": [{"name": gettext("GMV touched"), "data": [float(f.gmv) for _d, f in days]}],
            "unit": "¥",
        },
    }


def figures_header() -> list[str]:
    return [
        gettext("Merchant-funded cost"),
        gettext("Platform-funded cost"),
        gettext("Total cost"),
        gettext("Orders touched"),
        gettext("GMV touched"),
        gettext("New buyers"),
        gettext("ROI (GMV per yuan of cost)"),
    ]


def figures_cells(figures) -> list:
    return [
        figures.merchant_cost,
        figures.platform_cost,
        figures.cost,
        figures.orders,
        figures.gmv,
        figures.new_buyers,
        "" if figures.roi is None else figures.roi,
    ]


def csv_response(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """`rows` as a streamed CSV download (with the byte order mark Excel needs), the header
    in the request's language; never kept by a shared cache."""
    language = translation.get_language()

    def lines() -> Iterator[bytes]:
        with translation.override(language):
            for line in csv_lines(rows, bom=True):
                yield line.encode("utf-8")

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


def daily_rows(days) -> Iterator[list]:
    """The per-day CSV: a header, then one row per day of the window."""
    yield [gettext("Day"), *figures_header()]
    for day, figures in days:
        yield [day.isoformat(), *figures_cells(figures)]


def with_figures(promotions) -> list:
    """`promotions` with their figures (`.figures`, `.roi_text`), in one query."""
    promotions = list(promotions)
    figures = order_selectors.promotion_marketing([p.pk for p in promotions])
    for promotion in promotions:
        promotion.figures = figures.get(promotion.pk, NO_FIGURES)
        promotion.roi_text = roi_display(promotion.figures)
    return promotions


def detail_context(subject: Subject) -> dict:
    days = daily(subject)
    figures = order_selectors.source_marketing(subject.source, [subject.pk]).get(subject.pk, NO_FIGURES)
    return {
        "subject": subject,
        "figures": figures,
        "roi_text": roi_display(figures),
        "days": [{"day": day, "figures": f, "roi_text": roi_display(f)} for day, f in days],
        **charts(days),
    }


# --- The merchant's portal pages --------------------------------------------------------------


@portal_view(SECTION)
@require_safe
def marketing_list(request, merchant, member):
    """The shop's promotions with their figures (one query for the figures of a page)."""
    page = Paginator(selectors.promotion_list_for_merchant(merchant), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_figures(page.object_list)
    return render(request, "portal/promotions/marketing_list.html", portal_context(member, MENU, page=page))


@portal_view(SECTION)
@require_safe
def marketing_detail(request, merchant, member, promotion_id: int):
    promotion = found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id))
    return _portal_page(request, member, MENU, promotion_subject(promotion), "portal_marketing:csv")


@portal_view(SECTION)
@require_safe
def marketing_csv(request, merchant, member, promotion_id: int):
    subject = promotion_subject(found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id)))
    return csv_response(daily_rows(daily(subject)), subject.csv_name)


def _portal_page(request, member, menu: str, subject: Subject, csv_route: str):
    context = portal_context(member, menu, csv_url=reverse(csv_route, args=[subject.pk]), **detail_context(subject))
    return render(request, "portal/promotions/marketing.html", context)


@portal_view(CATALOG)
@require_safe
def flash_sale_marketing(request, merchant, member, sale_id: int):
    sale = found_or_404(selectors.flash_sale_get_for_merchant(merchant, sale_id))
    return _portal_page(request, member, MENU_FLASH_SALES, flash_sale_subject(sale), "portal_marketing:flash_sale_csv")


@portal_view(CATALOG)
@require_safe
def flash_sale_marketing_csv(request, merchant, member, sale_id: int):
    subject = flash_sale_subject(found_or_404(selectors.flash_sale_get_for_merchant(merchant, sale_id)))
    return csv_response(daily_rows(daily(subject)), subject.csv_name)


@portal_view(CATALOG)
@require_safe
def group_buy_marketing(request, merchant, member, campaign_id: int):
    campaign = found_or_404(selectors.group_buy_get_for_merchant(merchant, campaign_id))
    return _portal_page(request, member, MENU_GROUP_BUYS, group_buy_subject(campaign), "portal_marketing:group_buy_csv")


@portal_view(CATALOG)
@require_safe
def group_buy_marketing_csv(request, merchant, member, campaign_id: int):
    subject = group_buy_subject(found_or_404(selectors.group_buy_get_for_merchant(merchant, campaign_id)))
    return csv_response(daily_rows(daily(subject)), subject.csv_name)
