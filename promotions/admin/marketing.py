"""Operations' marketing pages of promotions, under /admin/promotions/marketing/: every
promotion with its figures (sortable by cost, GMV and ROI; streamed CSV of the whole list) and
one promotion's page (figures, charts per day, CSV per day); the same page and CSV of a flash
sale (flash-sales/<id>/) and of a group-buy campaign (group-buys/<id>/), linked from their
admin lists.

They are not a ModelAdmin's pages (the promotions' own admin links to them), so they are
plain admin views: `admin_view` (staff signed in, else the admin's login) and `staff_view`
with their declaration, `permissions.MARKETING_VIEW` (others 403)."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from marketplace.admin_tools import staff_view

from .. import marketing_views as marketing
from .. import permissions
from ..models import FlashSale, GroupBuyCampaign, Promotion

app_name = "promotions_marketing"

PAGE_SIZE = 50

#: ?o= of the list: the figure each sorts by, and its column's label.
SORTS = {
    "cost": (lambda p: p.figures.cost, _("Total cost")),
    "gmv": (lambda p: p.figures.gmv, _("GMV touched")),
    "roi": (lambda p: p.figures.roi, _("ROI")),
}
DEFAULT_SORT = "-cost"


def _sorted(promotions: list, order: str) -> list:
    """Highest first with "-" (the default), lowest first without; a promotion without cost
    has no ROI and comes last either way; ties by id, newest first."""
    key = SORTS[order.lstrip("-")][0]
    descending = order.startswith("-")
    known = [p for p in promotions if key(p) is not None]
    unknown = [p for p in promotions if key(p) is None]
    known.sort(key=lambda p: (key(p) * (-1 if descending else 1), -p.pk))
    return known + sorted(unknown, key=lambda p: -p.pk)


def _order(request) -> str:
    order = request.GET.get("o", DEFAULT_SORT)
    return order if order.lstrip("-") in SORTS else DEFAULT_SORT


def _all_with_figures(order: str) -> list:
    # The figures of every promotion in one query; sorting needs them all (a few thousand
    # promotions at most: they are made by hand).
    promotions = Promotion.objects.select_related("merchant").order_by("-id")
    return _sorted(marketing.with_figures(promotions), order)


def _page(request, template: str, title, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "opts": Promotion._meta,
            "title": title,
            "list_url": reverse("promotions_marketing:list"),
            **context,
        },
    )


def _detail(request, subject: marketing.Subject, csv_route: str, **context) -> TemplateResponse:
    return _page(
        request,
        "admin/promotions/marketing/detail.html",
        gettext("Marketing: %(name)s") % {"name": subject.name},
        csv_url=reverse(csv_route, args=[subject.pk]),
        **marketing.detail_context(subject),
        **context,
    )


def promotion_list(request):
    order = _order(request)
    page = Paginator(_all_with_figures(order), PAGE_SIZE).get_page(request.GET.get("page"))
    columns = [
        {
            "label": label,
            "sorted": order.lstrip("-") == name,
            "descending": order.startswith("-"),
            # A click on the sorted column turns it round; on another, sorts it highest first.
            "query": f"?o={name if order == f'-{name}' else f'-{name}'}",
        }
        for name, (_key, label) in SORTS.items()
    ]
    return _page(
        request,
        "admin/promotions/marketing/list.html",
        gettext("Promotions' marketing figures"),
        page=page,
        columns=columns,
        order=order,
        csv_url=reverse("promotions_marketing:list_csv") + f"?o={order}",
    )


def promotion_list_csv(request):
    """Every promotion with its figures, in the list's order, streamed."""
    order = _order(request)

    def rows():
        yield [
            gettext("Promotion ID"),
            gettext("Name"),
            gettext("Level"),
            gettext("Shop"),
            gettext("Status"),
            gettext("Starts"),
            gettext("Ends"),
            *marketing.figures_header(),
        ]
        for p in _all_with_figures(order):
            yield [
                p.pk,
                p.name,
                p.get_level_display(),
                str(p.merchant) if p.merchant_id else "",
                p.get_status_display(),
                timezone.localtime(p.starts_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(p.ends_at).strftime("%Y-%m-%d %H:%M"),
                *marketing.figures_cells(p.figures),
            ]

    return marketing.csv_response(rows(), "promotions-marketing.csv")


def promotion_detail(request, promotion_id: int):
    promotion = get_object_or_404(Promotion.objects.select_related("merchant"), pk=promotion_id)
    return _detail(request, marketing.promotion_subject(promotion), "promotions_marketing:csv")


def promotion_csv(request, promotion_id: int):
    subject = marketing.promotion_subject(
        get_object_or_404(Promotion.objects.select_related("merchant"), pk=promotion_id)
    )
    return marketing.csv_response(marketing.daily_rows(marketing.daily(subject)), subject.csv_name)


def _flash_sale(sale_id: int):
    return marketing.flash_sale_subject(
        get_object_or_404(FlashSale.objects.select_related("merchant", "sku"), pk=sale_id)
    )


def flash_sale_detail(request, sale_id: int):
    return _detail(
        request,
        _flash_sale(sale_id),
        "promotions_marketing:flash_sale_csv",
        opts=FlashSale._meta,
        list_url=reverse("admin:promotions_flashsale_changelist"),
        list_label=FlashSale._meta.verbose_name_plural,
    )


def flash_sale_csv(request, sale_id: int):
    subject = _flash_sale(sale_id)
    return marketing.csv_response(marketing.daily_rows(marketing.daily(subject)), subject.csv_name)


def _group_buy(campaign_id: int):
    return marketing.group_buy_subject(
        get_object_or_404(GroupBuyCampaign.objects.select_related("merchant"), pk=campaign_id)
    )


def group_buy_detail(request, campaign_id: int):
    return _detail(
        request,
        _group_buy(campaign_id),
        "promotions_marketing:group_buy_csv",
        opts=GroupBuyCampaign._meta,
        list_url=reverse("admin:promotions_groupbuycampaign_changelist"),
        list_label=GroupBuyCampaign._meta.verbose_name_plural,
    )


def group_buy_csv(request, campaign_id: int):
    subject = _group_buy(campaign_id)
    return marketing.csv_response(marketing.daily_rows(marketing.daily(subject)), subject.csv_name)


def _staff(view):
    # Read-only pages: GET and HEAD (405 otherwise, once the caller may see them).
    return admin.site.admin_view(staff_view(require_safe(view), permissions.MARKETING_VIEW))


urlpatterns = [
    path("", _staff(promotion_list), name="list"),
    path("list.csv", _staff(promotion_list_csv), name="list_csv"),
    path("<int:promotion_id>/", _staff(promotion_detail), name="detail"),
    path("<int:promotion_id>/marketing.csv", _staff(promotion_csv), name="csv"),
    path("flash-sales/<int:sale_id>/", _staff(flash_sale_detail), name="flash_sale"),
    path("flash-sales/<int:sale_id>/marketing.csv", _staff(flash_sale_csv), name="flash_sale_csv"),
    path("group-buys/<int:campaign_id>/", _staff(group_buy_detail), name="group_buy"),
    path("group-buys/<int:campaign_id>/marketing.csv", _staff(group_buy_csv), name="group_buy_csv"),
]
