"""Merchant portal forms for products, SKUs, pictures and stock.

They check the shape of the input (numbers, lengths, which options a merchant is offered);
the services in `catalog.services` decide the rules and refuse with a `DomainError`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import selectors
from .choices import ListingStatus
from .models import MAX_SKU_PRICE
from .services.imports import MAX_BYTES as IMPORT_MAX_BYTES

ATTRIBUTE_HELP = _("Name=value pairs separated by semicolons, e.g. colour=white; size=M.")
_PAIR_SEPARATORS = re.compile(r"[;；\n]")
_NAME_VALUE = re.compile(r"\s*([^=:：]+?)\s*[=:：]\s*(.+?)\s*$")


def merchant_category_choices(merchant) -> list[tuple[int, str]]:
    """Active categories the merchant may sell in: its grants and everything below them."""
    allowed = selectors.category_descendant_ids(selectors.granted_categories(merchant).values_list("pk", flat=True))
    return [(pk, label) for pk, label in selectors.category_choices(active_only=True) if pk in allowed]


def parse_attributes(text: str) -> dict[str, str]:
    """Parse 'colour=white; size=M' into {"colour": "white", "size": "M"}.

    Pairs may also be written name:value (or with the full-width "：") and separated by
    "；" or new lines, as merchants type them in Chinese.
    """
    attributes: dict[str, str] = {}
    for piece in _PAIR_SEPARATORS.split(text or ""):
        piece = piece.strip()
        if not piece:
            continue
        match = _NAME_VALUE.match(piece)
        if match is None:
            raise ValidationError(
                _("“%(piece)s” is not a name=value pair."), code="invalid_attributes", params={"piece": piece}
            )
        name, value = match.groups()
        if name in attributes:
            raise ValidationError(
                _("The attribute “%(name)s” is given twice."), code="invalid_attributes", params={"name": name}
            )
        attributes[name] = value
    return attributes


def format_attributes(attributes: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in (attributes or {}).items())


class NumberInput(forms.NumberInput):
    def __init__(self, attrs=None):
        super().__init__({"min": 0, **(attrs or {})})


# --- Products -----------------------------------------------------------------------------


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Title contains"), max_length=200, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *ListingStatus.choices], required=False
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False, empty_value=None)
    pending = forms.ChoiceField(
        label=_("Edit waiting for review"),
        choices=[("", _("Any")), ("yes", _("Yes")), ("no", _("No"))],
        required=False,
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any category")), *merchant_category_choices(merchant)]

    def selector_kwargs(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        kwargs = {"q": data.get("q", ""), "status": data.get("status", "")}
        if data.get("category"):
            kwargs["category_ids"] = selectors.category_descendant_ids([data["category"]])
        if data.get("pending"):
            kwargs["pending_revision"] = data["pending"] == "yes"
        return kwargs


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.TypedChoiceField(
        label=_("Category"), coerce=int, help_text=_("Only the categories of your contract are offered.")
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=selectors.tag_list(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "---------"), *merchant_category_choices(merchant)]

    def category_object(self):
        return selectors.category_list(active_only=False).get(pk=self.cleaned_data["category"])

    def service_changes(self, *, only_changed: bool) -> dict:
        """Keyword arguments for `product_update` (only what the merchant changed)."""
        names = self.changed_data if only_changed else list(self.fields)
        changes = {}
        for name in names:
            if name == "category":
                changes["category"] = self.category_object()
            elif name == "tags":
                changes["tag_ids"] = [t.pk for t in self.cleaned_data["tags"]]
            else:
                changes[name] = self.cleaned_data[name]
        return changes


class SKUForm(forms.Form):
    code = forms.CharField(label=_("SKU code"), max_length=64)
    attributes = forms.CharField(label=_("Attributes"), max_length=500, required=False, help_text=ATTRIBUTE_HELP)
    price = forms.DecimalField(
        label=_("Price (¥)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_SKU_PRICE,
        widget=NumberInput({"step": "0.01"}),
    )
    barcode = forms.CharField(label=_("Barcode"), max_length=32, required=False)
    weight_grams = forms.IntegerField(label=_("Weight (g)"), min_value=0, initial=0, widget=NumberInput())
    reorder_point = forms.IntegerField(
        label=_("Reorder point"),
        min_value=0,
        initial=0,
        widget=NumberInput(),
        help_text=_("An alert is raised when the available units of a warehouse fall below it; 0 for none."),
    )
    lead_time_days = forms.IntegerField(
        label=_("Lead time (days)"), min_value=0, max_value=365, initial=7, widget=NumberInput()
    )
    safety_stock = forms.IntegerField(label=_("Safety stock"), min_value=0, initial=0, widget=NumberInput())

    def clean_code(self):
        return self.cleaned_data["code"].strip()

    def clean_attributes(self):
        return parse_attributes(self.cleaned_data["attributes"])

    def service_data(self) -> dict:
        return dict(self.cleaned_data)

    @classmethod
    def initial_for(cls, sku) -> dict:
        initial = {name: getattr(sku, name) for name in cls.base_fields if name != "attributes"}
        initial["attributes"] = format_attributes(sku.attributes)
        return initial


class SKUEditForm(SKUForm):
    is_active = forms.BooleanField(
        label=_("On sale"), required=False, help_text=_("Inactive SKUs cannot be bought and are not in the price.")
    )

    @classmethod
    def initial_for(cls, sku) -> dict:
        return {**super().initial_for(sku), "is_active": sku.is_active}


class BaseSKUFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            code = (getattr(form, "cleaned_data", None) or {}).get("code")
            if not code:
                continue
            if code in seen:
                form.add_error("code", _("This code is used by another SKU above."))
            seen.add(code)


SKUFormSet = forms.formset_factory(
    SKUForm, formset=BaseSKUFormSet, extra=2, min_num=1, validate_min=True, max_num=50, validate_max=True
)


class ImageForm(forms.Form):
    image = forms.FileField(label=_("Picture"), help_text=_("PNG or JPEG, up to 10 MB."))


# --- Stock ---------------------------------------------------------------------------------


class WarehouseField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} · {obj.name}"


class StockFilterForm(forms.Form):
    q = forms.CharField(label=_("SKU code or product"), max_length=200, required=False)
    warehouse = WarehouseField(label=_("Warehouse"), queryset=None, required=False, empty_label=_("Any warehouse"))
    low = forms.BooleanField(label=_("Only below the reorder point"), required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = selectors.warehouse_list_for_merchant(merchant)

    def selector_kwargs(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        warehouse = data.get("warehouse")
        return {
            "q": data.get("q", ""),
            "warehouse_id": warehouse.pk if warehouse else None,
            "low_only": data.get("low"),
        }


class _StockForm(forms.Form):
    """A SKU (by code, among the merchant's own) and a warehouse offered to the merchant."""

    sku_code = forms.CharField(label=_("SKU code"), max_length=64)
    warehouse = WarehouseField(label=_("Warehouse"), queryset=None)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["warehouse"].queryset = selectors.warehouse_list_for_merchant(merchant)

    def clean_sku_code(self):
        code = self.cleaned_data["sku_code"].strip()
        self.sku = selectors.sku_get_by_code_for_merchant(self.merchant, code)
        if self.sku is None:
            raise ValidationError(_("You have no SKU with the code “%(code)s”."), params={"code": code})
        return code


class ReceiptForm(_StockForm):
    prefix = "receipt"
    quantity = forms.IntegerField(label=_("Units received"), min_value=1, widget=NumberInput({"min": 1}))
    reference = forms.CharField(
        label=_("Reference"), max_length=100, required=False, help_text=_("Delivery note or purchase order number.")
    )


class AdjustmentForm(_StockForm):
    prefix = "adjust"
    on_hand = forms.IntegerField(label=_("Counted on hand"), min_value=0, widget=NumberInput())
    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("e.g. stocktake, damaged goods."))


class StockImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns sku_code, warehouse_code, on_hand; UTF-8 (Excel: “CSV UTF-8”); up to 2 MB, 10,000 rows."),
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > IMPORT_MAX_BYTES:
            raise ValidationError(_("The file is larger than 2 MB; split it into smaller files."))
        return uploaded

    def content(self) -> bytes:
        uploaded = self.cleaned_data["file"]
        uploaded.seek(0)
        # One byte more than allowed, so the service sees (and refuses) an oversized file.
        return uploaded.read(IMPORT_MAX_BYTES + 1)
