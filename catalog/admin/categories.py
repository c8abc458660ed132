"""Staff screens of the category tree (commission rates through the service, with their
history), the read-only grants and the tags."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ObjectActionsMixin, ReadOnlyAdmin, ReadOnlyInline, ServiceEditAdmin

from .. import selectors, services
from ..models import Category, CategoryGrant, CategoryRateChange, Tag
from .actions import CATEGORY_ACTIONS, percent
from .base import category_paths


class CategoryForm(forms.ModelForm):
    #: `category_update` refuses a parent below the category: its words show on the field.
    error_fields = {"category_cycle": "parent"}

    class Meta:
        model = Category
        fields = ["name", "parent", "slug", "commission_rate", "is_fresh", "is_cross_border", "position", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff who may only view categories get a form without editable fields.
        if "parent" in self.fields:
            paths = category_paths()
            self.fields["parent"].label_from_instance = lambda category: paths.get(category.pk, category.name)


def _wire_parents() -> dict[int, Category]:
    """Every category with its parent object attached: walking up costs no more queries."""
    by_id = {c.pk: c for c in Category.objects.all()}
    for category in by_id.values():
        Category.parent.field.set_cached_value(category, by_id.get(category.parent_id))
    return by_id


def _rate_source(category: Category) -> Category | None:
    """The category whose own rate applies (itself or an ancestor); None for the default."""
    node, seen = category, set()
    while node is not None and node.pk not in seen:
        if node.commission_rate is not None:
            return node
        seen.add(node.pk)
        node = node.parent
    return None


def _effective_rate_text(category: Category) -> str:
    rate = selectors.category_effective_rate(category)
    source = _rate_source(category)
    if source is None:
        return gettext("%(rate)s (platform default)") % {"rate": percent(rate)}
    if source.pk == category.pk:
        return percent(rate)
    return gettext("%(rate)s (from “%(category)s”)") % {"rate": percent(rate), "category": source.name}


class CategoryChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One query for the paths and one for the rates of the whole page, not a walk per row.
        paths = category_paths()
        wired = _wire_parents()
        for category in self.result_list:
            category.path = paths.get(category.pk, category.name)
            category.effective_rate_text = _effective_rate_text(wired.get(category.pk, category))


class CategoryRateChangeInline(ReadOnlyInline):
    model = CategoryRateChange
    fields = ["changed_at", "old", "new", "changed_by"]
    readonly_fields = fields
    verbose_name_plural = _("commission rate history")

    @admin.display(description=_("old rate"))
    def old(self, change):
        return percent(change.old_rate) if change.old_rate is not None else gettext("inherited")

    @admin.display(description=_("new rate"))
    def new(self, change):
        return percent(change.new_rate) if change.new_rate is not None else gettext("inherited")


@admin.register(Category)
class CategoryAdmin(ServiceEditAdmin, ObjectActionsMixin, admin.ModelAdmin):
    """The tree. The commission rate is set on creation and changed only through the
    "change commission rate" action, both through `services.category_set_rate`, so every
    change is recorded (who, when, old, new) and audited."""

    form = CategoryForm
    object_actions = CATEGORY_ACTIONS
    list_display = [
        "path",
        "slug",
        "own_rate",
        "effective_rate",
        "is_fresh",
        "is_cross_border",
        "position",
        "is_active",
    ]
    list_filter = ["is_active", "is_fresh", "is_cross_border"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CategoryRateChangeInline]

    def get_changelist(self, request, **kwargs):
        return CategoryChangeList

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["rate", "effective_rate"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "parent", "slug", "commission_rate", "is_fresh", "is_cross_border", "position", "is_active"]
        return [
            "name",
            "parent",
            "slug",
            "rate",
            "effective_rate",
            "is_fresh",
            "is_cross_border",
            "position",
            "is_active",
        ]

    # The rate is read-only on the change page (never written back from here): it changes only
    # through `category_set_rate`, which the add page's first rate goes through too.
    def create(self, request, fields):
        return services.category_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.category_update(category=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.categories_delete(categories=objs, actor=request.user)

    def action_summary(self, request, category):
        wired = _wire_parents()
        return [
            (gettext("Category"), category_paths().get(category.pk, category.name)),
            (gettext("Own rate"), self.own_rate(category)),
            (gettext("Effective rate"), _effective_rate_text(wired.get(category.pk, category))),
        ]

    @admin.display(description=_("category"), ordering="name")
    def path(self, category):
        return category.path

    @admin.display(description=_("own rate"), ordering="commission_rate")
    def own_rate(self, category):
        return percent(category.commission_rate) if category.commission_rate is not None else gettext("inherited")

    @admin.display(description=_("commission rate"))
    def rate(self, category):
        return format_html(
            '{}<div class="help">{}</div>',
            self.own_rate(category),
            gettext("Changed with the “Change commission rate” button, so every change is recorded."),
        )

    @admin.display(description=_("effective rate"))
    def effective_rate(self, category):
        if hasattr(category, "effective_rate_text"):
            return category.effective_rate_text
        wired = _wire_parents()
        return _effective_rate_text(wired.get(category.pk, category))


@admin.register(CategoryRateChange)
class CategoryRateChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "category", "old_rate", "new_rate", "changed_by"]
    list_filter = ["category"]
    list_select_related = ["category", "changed_by"]
    search_fields = ["category__name", "changed_by__email"]
    date_hierarchy = "changed_at"


@admin.register(CategoryGrant)
class CategoryGrantAdmin(ReadOnlyAdmin):
    """Read-only: grants change on the merchant page, through the audited service."""

    list_display = ["merchant", "category", "granted_by", "granted_at"]
    list_filter = ["category"]
    list_select_related = ["merchant", "category", "granted_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "category__name"]


@admin.register(Tag)
class TagAdmin(ServiceEditAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    def create(self, request, fields):
        return services.tag_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.tag_update(tag=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.tags_delete(tags=objs, actor=request.user)

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, tag):
        return tag.product_count
