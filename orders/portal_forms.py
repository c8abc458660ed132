"""Forms of the merchant portal's order pages. They check the shape of input only; the
services decide (and refuse with a `DomainError`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.selectors import warehouse_list_for_merchant

from .choices import AfterSalesStatus, ComplaintStatus
from .models import Shipment
from .services.fulfilment import MAX_BYTES


class ShipForm(forms.Form):
    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=Shipment._meta.get_field("carrier").max_length,
        help_text=_("For example SF Express."),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"), max_length=Shipment._meta.get_field("tracking_number").max_length
    )
    error_fields = {"tracking_required": "tracking_number", "carrier_too_long": "carrier"}


class ShipImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("Columns order_number, carrier and tracking_number; UTF-8, at most 1 MB.")
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB; split it into smaller files."))
        return uploaded

    def content(self) -> bytes:
        uploaded = self.cleaned_data["file"]
        uploaded.seek(0)
        return uploaded.read()


class MergeForm(forms.Form):
    orders = forms.TypedMultipleChoiceField(
        label=_("Orders"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least two orders to ship together.")},
    )

    def __init__(self, *args, order_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The merchant's own orders only: another id is refused as an invalid choice.
        self.fields["orders"].choices = [(pk, pk) for pk in order_ids]


class AcceptForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the buyer"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The buyer sees it and may ask the platform to decide."),
    )
    error_fields = {"reason_required": "reason"}


class ReturnReceivedForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"), queryset=None, help_text=_("The returned goods go back to stock here.")
    )
    error_fields = {"warehouse_not_yours": "warehouse", "warehouse_inactive": "warehouse"}

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouse_list_for_merchant(merchant)
        self.fields["warehouse"].label_from_instance = lambda w: f"{w.code} · {w.name}"


class AfterSalesFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *AfterSalesStatus.choices])


class ReviewFilterForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("All")), *((n, "★" * n) for n in range(5, 0, -1))],
    )
    replied = forms.TypedChoiceField(
        label=_("Reply"),
        required=False,
        coerce=lambda value: value == "yes",
        empty_value=None,
        choices=[("", _("All")), ("no", _("Waiting for your reply")), ("yes", _("Replied"))],
    )


class ReviewReplyForm(forms.Form):
    text = forms.CharField(label=_("Your reply"), max_length=2000, widget=forms.Textarea({"rows": 3}))


class ComplaintFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *ComplaintStatus.choices])


class ShippingRateForm(forms.Form):
    flat_fee = forms.DecimalField(
        label=_("Shipping fee per order (¥)"), min_value=0, max_digits=14, decimal_places=2, initial="8.00"
    )
    free_over = forms.DecimalField(
        label=_("Free shipping from (¥)"),
        min_value=0.01,
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Orders of your shop whose goods total reaches this amount ship free. Leave empty for never."),
    )
