"""Forms of the merchant portal's promotion pages: they check shape; services check rules."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.selectors import sku_get_by_code_for_merchant

DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class FlashSaleForm(forms.Form):
    """A new flash sale of one of the merchant's SKUs (by code)."""

    # The service's refusal codes, shown on the field they concern.
    error_fields = {
        "sku_not_on_sale": "sku_code",
        "invalid_special_price": "special_price",
        "window_in_past": "starts_at",
        "invalid_window": "ends_at",
        "quantity_exceeds_stock": "quantity",
        "invalid_limit": "per_buyer_limit",
        "flash_sale_overlaps": "starts_at",
    }

    sku_code = forms.CharField(label=_("SKU code"), max_length=64)
    special_price = forms.DecimalField(
        label=_("Special price"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=1_000_000,
        help_text=_("At most the units available now. The stock is reserved when buyers check out."),
    )
    per_buyer_limit = forms.IntegerField(label=_("Limit per buyer"), min_value=1, max_value=100, initial=1)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME_LOCAL, input_formats=["%Y-%m-%dT%H:%M"])
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME_LOCAL, input_formats=["%Y-%m-%dT%H:%M"])

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.sku = None

    def clean_sku_code(self):
        code = self.cleaned_data["sku_code"].strip()
        self.sku = sku_get_by_code_for_merchant(self.merchant, code)
        if self.sku is None:
            raise ValidationError(_("You have no SKU with the code “%(code)s”."), params={"code": code})
        return code
