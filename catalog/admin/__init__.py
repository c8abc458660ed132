"""Staff screens of the catalog: the category tree and the (read-only) category grants.

Grants are changed from the merchant page (`merchants.admin`), through
`catalog.services.category_grants_set`, so every change is audited.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Category, CategoryGrant


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "parent", "slug", "commission_rate", "is_fresh", "is_cross_border", "position", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        paths = dict(selectors.category_choices(active_only=False))
        self.fields["parent"].label_from_instance = lambda category: paths.get(category.pk, category.name)

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if parent is not None and self.instance.pk is not None:
            parents = dict(Category.objects.values_list("pk", "parent_id"))
            node, seen = parent.pk, set()
            # Walk up from the new parent: meeting this category means the tree would loop.
            while node is not None and node not in seen:
                if node == self.instance.pk:
                    raise forms.ValidationError(
                        _("A category cannot be placed under itself or one of its subcategories."), code="cycle"
                    )
                seen.add(node)
                node = parents.get(node)
        return parent


class CategoryChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One query for the paths of the whole page instead of one walk up per row.
        paths = dict(selectors.category_choices(active_only=False))
        for category in self.result_list:
            category.path = paths.get(category.pk, category.name)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["path", "slug", "commission_rate", "is_fresh", "is_cross_border", "position", "is_active"]
    list_filter = ["is_active", "is_fresh", "is_cross_border"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_changelist(self, request, **kwargs):
        return CategoryChangeList

    @admin.display(description=_("category"), ordering="name")
    def path(self, category):
        return category.path


@admin.register(CategoryGrant)
class CategoryGrantAdmin(admin.ModelAdmin):
    """Read-only: grants change on the merchant page, through the audited service."""

    list_display = ["merchant", "category", "granted_by", "granted_at"]
    list_filter = ["category"]
    list_select_related = ["merchant", "category", "granted_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "category__name"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
