"""Buyer forms of the storefront. They check the shape of the input; the services decide the
rules (what is on sale, what may still be refunded, which state allows what)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from marketplace.converters import TokenConverter
from marketplace.regions import Region

from .choices import AfterSalesKind, ComplaintCategory, OrderStatus
from .services import MAX_QUANTITY, CheckoutItem

PHONE_REGEX = r"^\+?[0-9][0-9 -]{6,19}$"


class AddToCartForm(forms.Form):
    sku = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    next = forms.CharField(required=False, max_length=500)


class CartUpdateForm(forms.Form):
    sku = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY)


class CartRemoveForm(forms.Form):
    sku = forms.IntegerField(min_value=1)


class AddressForm(forms.Form):
    recipient = forms.CharField(label=_("Recipient"), max_length=100)
    phone = forms.RegexField(
        label=_("Phone"),
        regex=PHONE_REGEX,
        max_length=32,
        error_messages={"invalid": _("Enter a phone number: digits, spaces or dashes, e.g. 138 0000 0000.")},
    )
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices)
    province = forms.CharField(label=_("Province"), max_length=50)
    city = forms.CharField(label=_("City"), max_length=50)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    line = forms.CharField(label=_("Street address"), max_length=200)
    postcode = forms.RegexField(
        label=_("Postcode"),
        regex=r"^[0-9]{6}$",
        required=False,
        max_length=10,
        error_messages={"invalid": _("A postcode has six digits.")},
    )
    make_default = forms.BooleanField(label=_("Use as my default address"), required=False)
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


def address_label(address) -> str:
    return f"{address.recipient} · {address.phone} · {address.province}{address.city}{address.district}{address.line}"


class CheckoutForm(forms.Form):
    """The buyer confirms the summary they saw: the items travel in the form, so a second
    submission of the same page (double click) describes the same order and hits the same
    idempotency key, even after the first has emptied the cart."""

    address = forms.ModelChoiceField(
        label=_("Deliver to"),
        queryset=None,
        # The radios sit outside the checkout <form> (next to the add-address form, which
        # cannot nest), so they name the form they belong to.
        widget=forms.RadioSelect(attrs={"form": "checkout-form"}),
        empty_label=None,
        error_messages={"required": _("Choose a delivery address."), "invalid_choice": _("Choose a delivery address.")},
    )
    # The key is also a path segment (checkout/placing/<key>/): the same characters as the
    # `token` converter, so a key that was accepted can always be redirected to.
    key = forms.CharField(
        widget=forms.HiddenInput,
        min_length=8,
        max_length=100,
        validators=[RegexValidator(rf"\A{TokenConverter.regex}\Z")],
    )
    items = forms.CharField(widget=forms.HiddenInput, max_length=4000)
    coupon_code = forms.CharField(
        label=_("Coupon code"),
        required=False,
        max_length=32,
        help_text=_("One of your coupons' codes, or a public code; leave empty to pay without a coupon."),
        widget=forms.TextInput(attrs={"list": "my-coupons", "autocomplete": "off", "autocapitalize": "characters"}),
    )

    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = addresses
        self.fields["address"].label_from_instance = address_label

    def clean_items(self) -> list[CheckoutItem]:
        items = []
        try:
            for part in self.cleaned_data["items"].split(","):
                sku, quantity = part.split(":")
                items.append(CheckoutItem(int(sku), int(quantity)))
        except ValueError as exc:
            raise forms.ValidationError(_("The order summary is out of date; open the checkout again.")) from exc
        return items

    @staticmethod
    def encode_items(items) -> str:
        return ",".join(f"{sku}:{quantity}" for sku, quantity in items)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), max_length=200, required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the pattern of Django's documentation)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/png,image/jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class AfterSalesForm(forms.Form):
    """Kind, reason, optional shipping refund, and per line: whether to include it, how many
    units and how much money (at most what is still refundable on the line)."""

    kind = forms.ChoiceField(label=_("What do you want?"), choices=AfterSalesKind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("What went wrong?"), max_length=2000, widget=forms.Textarea({"rows": 4}))
    photos = MultipleFileField(
        label=_("Photos"), required=False, help_text=_("Up to 5 PNG or JPEG photos showing the problem.")
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        if order.shipping_fee > 0:
            self.fields["shipping_amount"] = forms.DecimalField(
                label=_("Shipping to refund (¥)"),
                min_value=Decimal("0"),
                max_value=order.shipping_fee,
                decimal_places=2,
                max_digits=14,
                required=False,
                help_text=_("At most the shipping you paid."),
            )
        self.line_rows = []
        for line in order.lines.all():
            if line.refundable <= 0:
                continue
            prefix = f"line_{line.pk}"
            self.fields[f"{prefix}_include"] = forms.BooleanField(label=line.product_title, required=False)
            self.fields[f"{prefix}_quantity"] = forms.IntegerField(
                label=_("Units"), min_value=1, max_value=line.quantity, initial=line.quantity
            )
            self.fields[f"{prefix}_amount"] = forms.DecimalField(
                label=_("Amount (¥)"),
                min_value=Decimal("0.01"),
                max_value=line.refundable,
                decimal_places=2,
                max_digits=14,
                initial=line.refundable,
            )
            self.line_rows.append((line, prefix))

    def bound_rows(self):
        """(line, include, quantity, amount) bound fields, for the template."""
        return [(line, self[f"{p}_include"], self[f"{p}_quantity"], self[f"{p}_amount"]) for line, p in self.line_rows]

    def full_clean(self):
        # Units and amount only matter on the lines the buyer ticked.
        if self.is_bound:
            for _line, prefix in self.line_rows:
                required = bool(self.data.get(f"{prefix}_include"))
                self.fields[f"{prefix}_quantity"].required = required
                self.fields[f"{prefix}_amount"].required = required
        super().full_clean()

    def clean(self):
        data = super().clean()
        items = [
            (line.pk, data.get(f"{prefix}_quantity"), data.get(f"{prefix}_amount"))
            for line, prefix in self.line_rows
            if data.get(f"{prefix}_include")
        ]
        if not items and not self.errors:
            raise forms.ValidationError(_("Tick at least one item."))
        data["items"] = items
        return data


class EscalateForm(forms.Form):
    statement = forms.CharField(
        label=_("Why do you disagree with the shop?"), max_length=2000, widget=forms.Textarea({"rows": 4})
    )


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Your review (optional)"), max_length=2000, required=False, widget=forms.Textarea({"rows": 4})
    )
    photos = MultipleFileField(label=_("Photos"), required=False, help_text=_("Up to 5 PNG or JPEG photos."))


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=ComplaintCategory.choices)
    text = forms.CharField(label=_("Describe the problem"), max_length=2000, widget=forms.Textarea({"rows": 4}))


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All orders")), *OrderStatus.choices], required=False)


class SandboxPayForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("pay", "pay"), ("fail", "fail")])
