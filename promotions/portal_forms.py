"""Forms of the merchant portal's promotion pages. They check the shape of the input (numbers,
dates, choices limited to the shop's own products, SKUs and categories); the rules are
`promotions.services`', whose refusals land on the field they concern (`error_fields`)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.forms import NumberInput, merchant_category_choices
from catalog.selectors import product_list_for_merchant, sku_get_by_code_for_merchant, sku_list_for_merchant

from .choices import BenefitType, PromotionChannel, PromotionStatus, ScopeKind

#: The scopes a shop promotion may have (the whole platform is operations').
SHOP_SCOPE_CHOICES = [(k, label) for k, label in ScopeKind.choices if k != ScopeKind.PLATFORM]
#: The steps the create and edit pages offer (empty rows are skipped).
STEP_ROWS = 4


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class PromotionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *PromotionStatus.choices], required=False
    )


class PromotionForm(forms.Form):
    """A shop promotion's settings. `service_data()` gives what `promotion_create` and
    `promotion_update` take (with the steps of `StepFormSet`)."""

    #: The services' refusals, shown on the field they concern.
    error_fields = {
        "name_required": "name",
        "invalid_channel": "channel",
        "invalid_window": "ends_at",
        "invalid_platform_share": "platform_share_percent",
        "invalid_benefit": "benefit_type",
        "benefit_shop_only": "benefit_type",
        "invalid_percent": "percent",
        "invalid_gift": "gift_sku",
        "invalid_scope": "scope",
        "scope_not_own_shop": "products",
        "invalid_coupon_code": "public_code",
        "coupon_code_taken": "public_code",
        "coupon_not_claimable": "public_code",
    }

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )
    channel = forms.ChoiceField(
        label=_("Given"),
        choices=PromotionChannel.choices,
        initial=PromotionChannel.AUTOMATIC,
        help_text=_("Automatic: every cart that meets the condition. With a coupon: only to buyers holding one."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DateTimeInput())
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DateTimeInput())
    priority = forms.IntegerField(
        label=_("Priority"),
        initial=0,
        min_value=-1000,
        max_value=1000,
        help_text=_("When two promotions give the buyer the same, the higher priority is chosen."),
    )
    benefit_type = forms.ChoiceField(label=_("Benefit"), choices=BenefitType.choices)
    percent = forms.DecimalField(
        label=_("Percentage off"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("99.99"),
        widget=NumberInput({"step": "0.01"}),
        help_text=_("For “Percentage off”: 15 means 15 percent off."),
    )
    amount = forms.DecimalField(
        label=_("Amount off (¥)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=NumberInput({"step": "0.01"}),
        help_text=_("For “Fixed amount off”."),
    )
    gift_sku = forms.TypedChoiceField(
        label=_("Gift"), coerce=int, required=False, empty_value=None, help_text=_("For “Free gift”: one of your SKUs.")
    )
    min_spend = forms.DecimalField(
        label=_("Minimum spend (¥)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=NumberInput({"step": "0.01"}),
    )
    min_quantity = forms.IntegerField(label=_("Minimum quantity"), required=False, min_value=1, widget=NumberInput())
    scope = forms.ChoiceField(label=_("Applies to"), choices=SHOP_SCOPE_CHOICES, initial=ScopeKind.SHOP)
    products = forms.TypedMultipleChoiceField(
        label=_("Products"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("For “Chosen products”: your products only."),
    )
    categories = forms.TypedMultipleChoiceField(
        label=_("Categories"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("For “Chosen categories”: the categories of your contract."),
    )
    platform_share_percent = forms.DecimalField(
        label=_("Platform share (%)"),
        initial=0,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        widget=NumberInput({"step": "0.01"}),
        help_text=_("0: your shop pays the whole discount. Above 0: operations must approve before it starts."),
    )
    budget_amount = forms.DecimalField(
        label=_("Budget (¥)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=NumberInput({"step": "0.01"}),
        help_text=_("Leave empty for no limit."),
    )
    max_uses = forms.IntegerField(
        label=_("Maximum uses"),
        required=False,
        min_value=1,
        widget=NumberInput(),
        help_text=_("Leave empty for no limit."),
    )
    per_buyer_limit = forms.IntegerField(
        label=_("Uses per buyer"),
        required=False,
        min_value=1,
        widget=NumberInput(),
        help_text=_("Leave empty for no limit."),
    )
    public_code = forms.CharField(
        label=_("Public code"),
        required=False,
        max_length=32,
        help_text=_(
            "With a coupon only: any buyer who enters this code claims a coupon (4 to 32 letters and digits). "
            "Leave empty to hand the coupons out in the coupon centre."
        ),
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].choices = [
            (pk, title)
            for pk, title in product_list_for_merchant(merchant).order_by("title", "pk").values_list("pk", "title")
        ]
        self.fields["categories"].choices = merchant_category_choices(merchant)
        self.fields["gift_sku"].choices = [("", "---------")] + [
            (s.pk, f"{s.code} · {s.product.title}") for s in sku_list_for_merchant(merchant).filter(is_active=True)
        ]

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The promotion must end after it starts."))
        return cleaned

    def service_data(self, steps: list[tuple[Decimal, Decimal]]) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "channel": data["channel"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "priority": data["priority"],
            "min_spend": data["min_spend"],
            "min_quantity": data["min_quantity"],
            "scope": data["scope"],
            "benefit_type": data["benefit_type"],
            "percent": data["percent"],
            "amount": data["amount"],
            "gift_sku_id": data["gift_sku"],
            "platform_share": (data["platform_share_percent"] / 100).quantize(Decimal("0.0001")),
            "budget_amount": data["budget_amount"],
            "max_uses": data["max_uses"],
            "per_buyer_limit": data["per_buyer_limit"],
            "steps": steps,
            "product_ids": data["products"],
            "category_ids": data["categories"],
        }


def promotion_initial(promotion) -> dict:
    """The edit form's starting values: the promotion as it is."""
    return {
        "name": promotion.name,
        "description": promotion.description,
        "channel": promotion.channel,
        "starts_at": promotion.starts_at,
        "ends_at": promotion.ends_at,
        "priority": promotion.priority,
        "benefit_type": promotion.benefit_type,
        "percent": promotion.percent,
        "amount": promotion.amount,
        "gift_sku": promotion.gift_sku_id,
        "min_spend": promotion.min_spend,
        "min_quantity": promotion.min_quantity,
        "scope": promotion.scope,
        "products": [p.pk for p in promotion.products.all()],
        "categories": [c.pk for c in promotion.categories.all()],
        "platform_share_percent": promotion.platform_share * 100,
        "budget_amount": promotion.budget_amount,
        "max_uses": promotion.max_uses,
        "per_buyer_limit": promotion.per_buyer_limit,
        "public_code": public_code_of(promotion),
    }


def public_code_of(promotion) -> str:
    """The coupon promotion's public code, or "" (none, or not a coupon promotion)."""
    public = getattr(promotion, "public_code", None) if promotion.channel == PromotionChannel.COUPON else None
    return public.code if public else ""


class StepForm(forms.Form):
    threshold = forms.DecimalField(
        label=_("Spend at least (¥)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=NumberInput({"step": "0.01"}),
    )
    amount = forms.DecimalField(
        label=_("Amount off (¥)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=NumberInput({"step": "0.01"}),
    )


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[tuple[Decimal, Decimal]]:
        return [(f.cleaned_data["threshold"], f.cleaned_data["amount"]) for f in self.forms if f.cleaned_data]


StepFormSet = forms.formset_factory(StepForm, formset=BaseStepFormSet, extra=STEP_ROWS, max_num=10, validate_max=True)


def step_initial(promotion) -> list[dict]:
    return [{"threshold": s.threshold, "amount": s.amount} for s in promotion.steps.all()]


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
