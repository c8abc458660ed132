"""Forms of the group buy pages: they check the shape of input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

#: How many step rows the portal's form offers.
STEP_ROWS = 5


class JoinForm(forms.Form):
    """A buyer opens or joins a group: which saved address, how many units."""

    address = forms.TypedChoiceField(label=_("Deliver to"), coerce=int)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    error_fields = {"invalid_quantity": "quantity", "invalid_address": "address"}

    def __init__(self, *args, addresses=(), max_quantity: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].choices = [
            (a.pk, f"{a.recipient} · {a.province}{a.city}{a.district}{a.line}") for a in addresses
        ]
        self.fields["quantity"].max_value = max_quantity
        self.fields["quantity"].widget.attrs["max"] = max_quantity


class CampaignForm(forms.Form):
    """A merchant's new group buy: one of its SKUs, the window, the ladder (empty rows ignored)."""

    sku = forms.TypedChoiceField(label=_("SKU"), coerce=int)
    name = forms.CharField(label=_("Name"), max_length=120)
    starts_at = forms.DateTimeField(
        label=_("Groups may open from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Groups may open until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    max_quantity = forms.IntegerField(label=_("Units per participant at most"), min_value=1, max_value=99, initial=1)
    window_hours = forms.IntegerField(label=_("Hours a group stays open"), min_value=1, max_value=168, initial=24)
    error_fields = {
        "invalid_window": "ends_at",
        "invalid_quantity": "max_quantity",
        "name_required": "name",
    }

    def __init__(self, *args, skus=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sku"].choices = [(s.pk, f"{s.product.title} · {s.code} · ¥{s.price}") for s in skus]
        for i in range(STEP_ROWS):
            self.fields[f"step_{i}_participants"] = forms.IntegerField(
                label=_("Participants"), required=False, min_value=2
            )
            self.fields[f"step_{i}_percent"] = forms.DecimalField(
                label=_("Percentage off"), required=False, max_digits=5, decimal_places=2
            )

    def step_rows(self):
        return [(self[f"step_{i}_participants"], self[f"step_{i}_percent"]) for i in range(STEP_ROWS)]

    def steps(self) -> list[tuple]:
        rows = []
        for i in range(STEP_ROWS):
            count, percent = self.cleaned_data.get(f"step_{i}_participants"), self.cleaned_data.get(f"step_{i}_percent")
            if count is not None or percent is not None:
                rows.append((count, percent))
        return rows
