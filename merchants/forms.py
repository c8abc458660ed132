"""Portal forms. They check the shape of the input; the services decide the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.selectors import category_choices
from marketplace.regions import Region

from .choices import CooperationMode, DocumentKind, MemberRole
from .models import Tier
from .services import INVITABLE_ROLES
from .validators import validate_id_number, validate_uscc

KEEP_HINT = _("Leave empty to keep the number already saved (%(masked)s).")


class CompanyForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    shop_name = forms.CharField(
        label=_("Shop name"), max_length=100, required=False, help_text=_("Shown to buyers; the company name if empty.")
    )
    social_credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        validators=[validate_uscc],
        help_text=_("18 characters, printed on the business licence."),
    )
    legal_rep_name = forms.CharField(label=_("Legal representative"), max_length=100)
    legal_rep_id_number = forms.CharField(
        label=_("Legal representative ID number"), max_length=18, required=False, validators=[validate_id_number]
    )

    def __init__(self, *args, saved_id_mask: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["legal_rep_id_number"]
        if saved_id_mask:
            field.help_text = KEEP_HINT % {"masked": saved_id_mask}
        else:
            field.required = True

    def clean_social_credit_code(self):
        return self.cleaned_data["social_credit_code"].strip().upper()

    def clean_legal_rep_id_number(self):
        return self.cleaned_data["legal_rep_id_number"].strip().upper()

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data["legal_rep_id_number"]:
            data.pop("legal_rep_id_number")  # keep the saved one
        return data


class BusinessForm(forms.Form):
    contact_name = forms.CharField(label=_("Contact name"), max_length=100)
    contact_phone = forms.RegexField(
        label=_("Contact phone"),
        regex=r"^\+?[0-9][0-9 -]{6,19}$",
        error_messages={"invalid": _("Enter a phone number, digits only (e.g. 13912345678).")},
    )
    contact_email = forms.EmailField(label=_("Contact email"))
    requested_category_ids = forms.TypedMultipleChoiceField(
        label=_("Categories you want to sell in"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    sales_regions = forms.MultipleChoiceField(
        label=_("Sales regions"), choices=Region.choices, widget=forms.CheckboxSelectMultiple
    )
    cooperation_mode = forms.ChoiceField(
        label=_("Cooperation mode"),
        choices=CooperationMode.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Platform entry: you run your own shop and pay commission. Joint operation: the platform shares "
            "stock, logistics and after-sales for a revenue share. Franchise: you sell under the platform "
            "brand for a yearly fee."
        ),
    )
    requested_tier = forms.ModelChoiceField(
        label=_("Requested tier"), queryset=Tier.objects.all(), empty_label=None, widget=forms.RadioSelect
    )
    sells_manufactured_goods = forms.BooleanField(
        label=_("We sell goods we manufacture (a production licence is needed)"), required=False
    )
    sells_third_party_brands = forms.BooleanField(
        label=_("We sell brands we do not own (a brand authorisation is needed)"), required=False
    )
    is_cross_border = forms.BooleanField(
        label=_("We sell cross-border goods (customs credit rating and import/export licence are needed)"),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requested_category_ids"].choices = category_choices()


class BankForm(forms.Form):
    bank_account_name = forms.CharField(label=_("Account holder"), max_length=200)
    bank_name = forms.CharField(label=_("Bank and branch"), max_length=200)
    bank_account_number = forms.RegexField(
        label=_("Account number"),
        regex=r"^[0-9 ]{8,40}$",
        required=False,
        error_messages={"invalid": _("A bank account number has 8 to 30 digits.")},
    )

    def __init__(self, *args, saved_mask: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["bank_account_number"]
        if saved_mask:
            field.help_text = KEEP_HINT % {"masked": saved_mask}
        else:
            field.required = True

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data["bank_account_number"]:
            data.pop("bank_account_number")
        return data


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("File"), help_text=_("PDF, PNG or JPEG, at most 10 MB."))
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("If the document has an expiry date."),
    )


class BankChangeForm(forms.Form):
    """A new payout account after approval: all three fields, checked again by the service."""

    bank_account_name = forms.CharField(label=_("Account holder"), max_length=200)
    bank_name = forms.CharField(label=_("Bank and branch"), max_length=200)
    bank_account_number = forms.RegexField(
        label=_("Account number"),
        regex=r"^[0-9 ]{8,40}$",
        error_messages={"invalid": _("A bank account number has 8 to 30 digits.")},
    )


class RenewalForm(forms.Form):
    file = forms.FileField(label=_("Renewed document"), help_text=_("PDF, PNG or JPEG, at most 10 MB."))
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Required when the document has an expiry date."),
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=[(r.value, r.label) for r in INVITABLE_ROLES])


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[(r.value, r.label) for r in INVITABLE_ROLES])


class ShopForm(forms.Form):
    shop_name = forms.CharField(label=_("Shop name"), max_length=100)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    logo = forms.FileField(label=_("Logo"), required=False, help_text=_("PNG or JPEG; resized to 512 × 512."))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


ROLE_LABELS = dict(MemberRole.choices)
