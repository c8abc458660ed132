"""Merchant portal pages of the catalog (/portal/catalog/): products, SKUs, pictures, stock,
the stock CSV import, alerts and replenishment suggestions.

Every page goes through `portal_view(PortalSection.CATALOG)`, so only the owner and catalog
members reach it, and every row comes from a selector given the member's merchant: another
merchant's ids answer 404. Views check the shape of input with forms, call one service and
turn a `DomainError` into form errors or a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors, services
from .choices import RevisionStatus
from .forms import (
    AdjustmentForm,
    ImageForm,
    ProductFilterForm,
    ProductForm,
    ReceiptForm,
    SKUEditForm,
    SKUForm,
    SKUFormSet,
    StockFilterForm,
    StockImportForm,
)
from .models import LISTING_TRANSITIONS
from .services.imports import MAX_ROWS, stock_levels_import

CATALOG = PortalSection.CATALOG
# Menu keys, matched by merchants.views._menu to highlight the current entry.
MENU_PRODUCTS, MENU_STOCK, MENU_ALERTS = "catalog_products", "catalog_stock", "catalog_alerts"
PAGE_SIZE = 25
IMAGE_SIZES = {"original": "image", "small": "thumb_small", "medium": "thumb_medium"}


def _page(request, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _status(*forms) -> int:
    return 400 if any(f is not None and f.errors for f in forms) else 200


# --- Products ---------------------------------------------------------------------------


@portal_view(CATALOG)
def product_list(request, merchant, member):
    form = ProductFilterForm(request.GET or None, merchant=merchant)
    products = selectors.product_search_for_merchant(merchant, **form.selector_kwargs())
    context = portal_context(member, MENU_PRODUCTS, filter_form=form, page=_page(request, products))
    return render(request, "portal/catalog/product_list.html", context)


@portal_view(CATALOG)
def product_create(request, merchant, member):
    form = ProductForm(request.POST or None, merchant=merchant)
    formset = SKUFormSet(request.POST or None, prefix="skus")
    # Both are checked (not short-circuited) so every error shows at once.
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        data = form.cleaned_data
        try:
            product = services.product_create(
                merchant=merchant,
                actor=request.user,
                title=data["title"],
                category=form.category_object(),
                description=data["description"],
                tag_ids=[t.pk for t in data["tags"]],
                skus=[f.service_data() for f in formset.forms if f.cleaned_data],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Product saved as a draft. Add a picture, then submit it for review."))
            return redirect("portal_catalog:product", product_id=product.pk)
    status = 400 if form.errors or formset.total_error_count() else 200
    context = portal_context(member, MENU_PRODUCTS, form=form, formset=formset)
    return render(request, "portal/catalog/product_create.html", context, status=status)


def _product_initial(product, pending) -> dict:
    # A published product's form starts from its pending edit, so edits build on each other.
    source = pending or product
    tag_ids = pending.tag_ids if pending else [t.pk for t in product.tags.all()]
    return {
        "title": source.title,
        "description": source.description,
        "category": source.category_id,
        "tags": tag_ids,
    }


def _image_rows(product, pending) -> list[dict]:
    kept = set(pending.image_ids) if pending else None
    rows = []
    for image in product.images.all():
        if image.is_live and kept is not None and image.pk not in kept:
            state = _("Removal waiting for review")
        elif image.is_live:
            state = _("Shown to buyers")
        elif product.is_published:
            state = _("Waiting for review")
        else:
            state = _("Shown once the listing is approved")
        rows.append(
            {
                "image": image,
                "state": state,
                "small_url": reverse("portal_catalog:image", args=[image.pk, "small"]),
                "url": reverse("portal_catalog:image", args=[image.pk, "original"]),
            }
        )
    return rows


def _product_page(request, member, product, *, form=None, image_form=None):
    merchant = member.merchant
    pending = selectors.product_pending_revision(product)
    if form is None:
        form = ProductForm(initial=_product_initial(product, pending), merchant=merchant)
    _offer_current_category(form, product, pending)
    decided = selectors.product_latest_decided_revision(product)
    context = portal_context(
        member,
        MENU_PRODUCTS,
        product=product,
        pending=pending,
        rejected_revision=decided
        if decided and decided.status == RevisionStatus.REJECTED and pending is None
        else None,
        form=form,
        image_form=image_form or ImageForm(),
        images=_image_rows(product, pending),
        skus=product.skus.all(),
        can_submit=LISTING_TRANSITIONS.can("submit", product),
        can_withdraw=LISTING_TRANSITIONS.can("withdraw", product),
    )
    return render(request, "portal/catalog/product_detail.html", context, status=_status(form, image_form))


def _offer_current_category(form, product, pending) -> None:
    """Keep the product's own category selectable even if the grant was withdrawn since."""
    field = form.fields["category"]
    for category in {product.category, pending.category if pending else product.category}:
        if category.pk not in {pk for pk, _label in field.choices}:
            field.choices = [*field.choices, (category.pk, category.name)]


@portal_view(CATALOG)
def product_detail(request, merchant, member, product_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    if request.method != "POST":
        return _product_page(request, member, product)
    pending = selectors.product_pending_revision(product)
    form = ProductForm(request.POST, initial=_product_initial(product, pending), merchant=merchant)
    _offer_current_category(form, product, pending)
    if form.is_valid():
        changes = form.service_changes(only_changed=True)
        if not changes:
            messages.info(request, _("Nothing was changed."))
            return redirect("portal_catalog:product", product_id=product.pk)
        try:
            product = services.product_update(product=product, actor=request.user, **changes)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if product.is_published:
                messages.success(
                    request,
                    _("Your changes wait for review; buyers keep seeing the approved version until then."),
                )
            else:
                messages.success(request, _("Product saved."))
            return redirect("portal_catalog:product", product_id=product.pk)
    return _product_page(request, member, product, form=form)


@require_POST
@portal_view(CATALOG)
def product_submit(request, merchant, member, product_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    try:
        services.product_submit(product=product, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Submitted for review. We will tell you when a reviewer has decided."))
    return redirect("portal_catalog:product", product_id=product.pk)


@require_POST
@portal_view(CATALOG)
def product_withdraw(request, merchant, member, product_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    try:
        services.product_withdraw(product=product, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The product is off sale. Submit it again to sell it."))
    return redirect("portal_catalog:product", product_id=product.pk)


# --- Pictures ------------------------------------------------------------------------------


@require_POST
@portal_view(CATALOG)
def image_add(request, merchant, member, product_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.product_image_add(product=product, actor=request.user, uploaded=form.cleaned_data["image"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if product.is_published:
                messages.success(request, _("Picture added; buyers see it once a reviewer approves the change."))
            else:
                messages.success(request, _("Picture added."))
            return redirect("portal_catalog:product", product_id=product.pk)
    return _product_page(request, member, product, image_form=form)


@require_POST
@portal_view(CATALOG)
def image_remove(request, merchant, member, product_id: int, image_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    image = found_or_404(selectors.product_image_get_for_merchant(merchant, image_id))
    if image.product_id != product.pk:
        raise Http404("No such image on this product.")
    try:
        services.product_image_remove(image=image, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if product.is_published and image.is_live:
            messages.success(request, _("The picture goes once a reviewer approves the change."))
        else:
            messages.success(request, _("Picture removed."))
    return redirect("portal_catalog:product", product_id=product.pk)


@portal_view(CATALOG)
def image_file(request, merchant, member, image_id: int, size: str):
    """Any picture of the merchant's own products, also those buyers cannot see yet."""
    if size not in IMAGE_SIZES:
        raise Http404("No such size.")
    image = found_or_404(selectors.product_image_get_for_merchant(merchant, image_id))
    stored = getattr(image, IMAGE_SIZES[size])
    if not stored:
        raise Http404("No such file.")
    response = FileResponse(stored.open("rb"), content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- SKUs ----------------------------------------------------------------------------------


@portal_view(CATALOG)
def sku_create(request, merchant, member, product_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    form = SKUForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sku_create(product=product, actor=request.user, data=form.service_data())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("SKU added."))
            return redirect("portal_catalog:product", product_id=product.pk)
    context = portal_context(member, MENU_PRODUCTS, product=product, form=form, sku=None)
    return render(request, "portal/catalog/sku_form.html", context, status=_status(form))


@portal_view(CATALOG)
def sku_edit(request, merchant, member, product_id: int, sku_id: int):
    product = found_or_404(selectors.product_get_for_merchant(merchant, product_id))
    sku = found_or_404(selectors.sku_get_for_merchant(merchant, sku_id))
    if sku.product_id != product.pk:
        raise Http404("No such SKU on this product.")
    form = SKUEditForm(request.POST or None, initial=SKUEditForm.initial_for(sku))
    if request.method == "POST" and form.is_valid():
        try:
            services.sku_update(sku=sku, actor=request.user, data=form.service_data())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("SKU saved."))
            return redirect("portal_catalog:product", product_id=product.pk)
    context = portal_context(member, MENU_PRODUCTS, product=product, form=form, sku=sku)
    return render(request, "portal/catalog/sku_form.html", context, status=_status(form))


# --- Stock -----------------------------------------------------------------------------


def _stock_page(request, member, *, receipt_form=None, adjust_form=None):
    merchant = member.merchant
    filter_form = StockFilterForm(request.GET or None, merchant=merchant)
    levels = selectors.stock_search_for_merchant(merchant, **filter_form.selector_kwargs())
    context = portal_context(
        member,
        MENU_STOCK,
        filter_form=filter_form,
        page=_page(request, levels),
        receipt_form=receipt_form or ReceiptForm(merchant=merchant),
        adjust_form=adjust_form or AdjustmentForm(merchant=merchant),
    )
    return render(request, "portal/catalog/stock.html", context, status=_status(receipt_form, adjust_form))


@portal_view(CATALOG)
def stock(request, merchant, member):
    return _stock_page(request, member)


@require_POST
@portal_view(CATALOG)
def stock_receive(request, merchant, member):
    form = ReceiptForm(request.POST, merchant=merchant)
    if form.is_valid():
        data = form.cleaned_data
        try:
            level = services.stock_receive(
                merchant=merchant,
                sku=form.sku,
                warehouse=data["warehouse"],
                quantity=data["quantity"],
                actor=request.user,
                reference=data["reference"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("Received %(n)d units of %(sku)s in %(warehouse)s: %(on_hand)d on hand now.")
                % {
                    "n": data["quantity"],
                    "sku": form.sku.code,
                    "warehouse": data["warehouse"].code,
                    "on_hand": level.on_hand,
                },
            )
            return redirect("portal_catalog:stock")
    return _stock_page(request, member, receipt_form=form)


@require_POST
@portal_view(CATALOG)
def stock_adjust(request, merchant, member):
    form = AdjustmentForm(request.POST, merchant=merchant)
    if form.is_valid():
        data = form.cleaned_data
        try:
            level = services.stock_adjust(
                merchant=merchant,
                sku=form.sku,
                warehouse=data["warehouse"],
                on_hand=data["on_hand"],
                actor=request.user,
                reason=data["reason"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("%(sku)s in %(warehouse)s: %(on_hand)d on hand, %(available)d available.")
                % {
                    "sku": form.sku.code,
                    "warehouse": data["warehouse"].code,
                    "on_hand": level.on_hand,
                    "available": level.available,
                },
            )
            return redirect("portal_catalog:stock")
    return _stock_page(request, member, adjust_form=form)


@portal_view(CATALOG)
def stock_history(request, merchant, member, stock_id: int):
    level = found_or_404(selectors.stock_get_for_merchant(merchant, stock_id))
    context = portal_context(
        member,
        MENU_STOCK,
        level=level,
        page=_page(request, selectors.movement_list_for_stock(level), 50),
    )
    return render(request, "portal/catalog/stock_history.html", context)


@portal_view(CATALOG)
def stock_import(request, merchant, member):
    form = StockImportForm(request.POST or None, request.FILES or None)
    row_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            summary = stock_levels_import(merchant=merchant, actor=request.user, data=form.content())
        except DomainError as error:
            row_errors = error.extra.get("errors", []) if error.code == "import_invalid" else []
            form.add_error(None, str(error.message))
        else:
            context = portal_context(member, MENU_STOCK, form=StockImportForm(), summary=summary, max_rows=MAX_ROWS)
            return render(request, "portal/catalog/stock_import.html", context)
    context = portal_context(member, MENU_STOCK, form=form, row_errors=row_errors, max_rows=MAX_ROWS)
    return render(request, "portal/catalog/stock_import.html", context, status=_status(form))


# --- Alerts and suggestions ------------------------------------------------------------------


@portal_view(CATALOG)
def alerts(request, merchant, member):
    show_all = request.GET.get("all") == "1"
    suggestions = selectors.replenishment_suggestions(merchant=merchant)
    if not show_all:
        suggestions = [row for row in suggestions if row["suggested"] > 0]
    context = portal_context(
        member,
        MENU_ALERTS,
        page=_page(request, selectors.alert_list_for_merchant(merchant).order_by("-opened_at", "-id")),
        suggestions=Paginator(suggestions, 50).get_page(request.GET.get("spage")),
        show_all=show_all,
    )
    return render(request, "portal/catalog/alerts.html", context)
