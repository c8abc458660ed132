"""Merchant portal statements (/portal/statements/): the list, a statement with the source
records behind each of its lines, and the statement as CSV and PDF (and its invoice).

Every page goes through `portal_view(PortalSection.FINANCE)`, so only the owner and finance
members reach it, and every row comes from a selector given the member's merchant: another
merchant's statement ids, and drafts (internal to finance until approved), answer 404.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import exports, pdf, selectors
from .choices import LineKind
from .portal_subsidies import statement_subsidy_context

FINANCE = PortalSection.FINANCE
# Menu key, for merchants.views._menu to highlight the current entry.
MENU_STATEMENTS = "finance_statements"
PAGE_SIZE = 25

# Where the source records of each line kind are listed on the statement page (anchors).
LINE_SOURCES = {
    LineKind.GOODS: "orders",
    LineKind.PLATFORM_DISCOUNTS: "orders",
    LineKind.SHIPPING: "orders",
    LineKind.COMMISSION: "orders",
    LineKind.REFUNDS: "refunds",
    LineKind.SHIPPING_REFUNDS: "refunds",
    LineKind.DISCOUNTS_TAKEN_BACK: "refunds",
    LineKind.COMMISSION_RETURNED: "refunds",
    LineKind.LADDER_REBATE: "ladder-rebate",
    LineKind.PENALTIES: "penalties",
    LineKind.SERVICE_FEES: "service-fees",
    LineKind.LOGISTICS_SUBSIDY: "subsidies",
    LineKind.LOGISTICS_SUBSIDY_CLAWBACK: "subsidies",
    LineKind.GRANT_SUBSIDY: "subsidies",
    LineKind.ADJUSTMENTS: "adjustments",
    LineKind.CARRY_FORWARD: "carry-forward",
}


def _pager(request, queryset, param: str, anchor: str):
    """A page of one drill-down; its links keep the other drill-downs' pages."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))

    def url(number):
        query = request.GET.copy()
        query[param] = number
        return f"?{query.urlencode()}#{anchor}"

    page.previous_url = url(page.previous_page_number()) if page.has_previous() else ""
    page.next_url = url(page.next_page_number()) if page.has_next() else ""
    return page


@portal_view(FINANCE)
def statement_list(request, merchant, member):
    page = Paginator(selectors.statement_list_for_merchant(merchant), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/statements/list.html", portal_context(member, MENU_STATEMENTS, page=page))


@portal_view(FINANCE)
def statement_detail(request, merchant, member, statement_id: int):
    statement = found_or_404(selectors.statement_get_for_merchant(merchant, statement_id))
    lines = selectors.statement_lines_for_merchant(merchant, statement)
    kinds = {line.kind for line in lines}
    frozen = _pager(request, selectors.frozen_orders_for_merchant(merchant, statement), "frozen_page", "frozen")
    for item in frozen.object_list:
        item.reason_text = exports.frozen_reason(item.reason)
    previous = (
        selectors.previous_statement_for_merchant(merchant, statement) if LineKind.CARRY_FORWARD in kinds else None
    )
    context = portal_context(
        member,
        MENU_STATEMENTS,
        statement=statement,
        rows=[{"line": line, "anchor": LINE_SOURCES.get(line.kind, "")} for line in lines],
        orders=_pager(request, selectors.settled_orders_for_merchant(merchant, statement), "orders_page", "orders"),
        refunds=_pager(request, selectors.settled_refunds_for_merchant(merchant, statement), "refunds_page", "refunds"),
        frozen=frozen,
        adjustments=_pager(
            request, selectors.adjustments_for_merchant(merchant, statement), "adjustments_page", "adjustments"
        ),
        has_ladder_rebate=LineKind.LADDER_REBATE in kinds,
        previous=previous,
        previous_visible=previous is not None and previous.status in selectors.MERCHANT_VISIBLE,
        invoice=selectors.invoice_for_merchant(merchant, statement),
        # Penalties and service fees (issue #14): the source rows of their lines.
        statement_penalties=(
            selectors.penalties_for_merchant_statement(merchant, statement) if LineKind.PENALTIES in kinds else ()
        ),
        statement_fee_charges=(
            selectors.fee_charges_for_merchant_statement(merchant, statement) if LineKind.SERVICE_FEES in kinds else ()
        ),
        can_see_orders=member.can(PortalSection.ORDERS),
        **statement_subsidy_context(statement, kinds),
    )
    return render(request, "portal/statements/detail.html", context)


def _download(response, filename: str, *, inline: bool = False):
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # Financial documents: never kept by a shared cache.
    patch_cache_control(response, private=True, no_store=True)
    return response


@portal_view(FINANCE)
def statement_csv(request, merchant, member, statement_id: int):
    statement = found_or_404(selectors.statement_get_for_merchant(merchant, statement_id))
    lines = (line.encode("utf-8") for line in exports.statement_csv(statement))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    return _download(response, f"statement-{statement.period}.csv")


@portal_view(FINANCE)
def statement_pdf(request, merchant, member, statement_id: int):
    statement = found_or_404(selectors.statement_get_for_merchant(merchant, statement_id))
    response = HttpResponse(pdf.statement_pdf(statement), content_type="application/pdf")
    return _download(response, f"statement-{statement.period}.pdf", inline=True)


@portal_view(FINANCE)
def invoice_pdf(request, merchant, member, statement_id: int):
    statement = found_or_404(selectors.statement_get_for_merchant(merchant, statement_id))
    invoice = selectors.invoice_for_merchant(merchant, statement)
    if invoice is None:
        raise Http404("No invoice for this statement yet.")
    response = HttpResponse(pdf.invoice_pdf(invoice), content_type="application/pdf")
    return _download(response, f"invoice-{invoice.number}.pdf", inline=True)
