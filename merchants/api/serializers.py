"""Input and output shapes of the merchants API. Rules live in merchants.services.

Sensitive numbers (legal representative ID, bank account) are accepted as input, but every
output shows them masked: the plaintext never leaves the server through the API.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import selectors as catalog_selectors
from marketplace.crypto import mask
from marketplace.regions import Region
from marketplace.serializers import StrictCharField

from .. import selectors
from ..choices import ChangeStatus, CooperationMode, DocumentKind, MemberRole, MerchantStatus, PortalSection, TierCode
from ..models import Merchant

TIER_CODE_HELP = _("Tier code: core, potential or strategic.")
MASKED_HELP = _("Masked: only the last 4 characters are shown.")


@extend_schema_field({"type": "string", "enum": TierCode.values}, component_name="TierCode")
class TierCodeField(serializers.SlugRelatedField):
    """A tier given and shown by its code; the services receive the `Tier` row."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", TIER_CODE_HELP)
        if not kwargs.get("read_only"):
            kwargs["queryset"] = selectors.tier_list()
        super().__init__(slug_field="code", **kwargs)


@extend_schema_field({"type": "string", "enum": DocumentKind.values}, component_name="DocumentKind")
class DocumentKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(DocumentKind.choices, **kwargs)


@extend_schema_field(serializers.CharField(help_text=MASKED_HELP))
class MaskedField(serializers.Field):
    """Read-only: the value with all but its last 4 characters hidden."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return mask(value)


# --- Applications ---------------------------------------------------------------------


class ApplicationInputSerializer(serializers.Serializer):
    """The fields of `services.APPLICATION_FIELDS`; all optional (a draft fills up over time).

    Lengths match the database columns; the services check codes, numbers and regions.
    """

    company_name = StrictCharField(max_length=200, required=False, allow_blank=True)
    shop_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    social_credit_code = StrictCharField(max_length=18, required=False, allow_blank=True)
    legal_rep_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    legal_rep_id_number = StrictCharField(max_length=32, required=False, allow_blank=True)
    contact_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    contact_phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    requested_category_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, help_text=_("Ids of catalog categories.")
    )
    sales_regions = serializers.ListField(child=serializers.ChoiceField(Region.choices), required=False)
    cooperation_mode = serializers.ChoiceField(CooperationMode.choices, required=False)
    requested_tier = TierCodeField(required=False, allow_null=True)
    sells_manufactured_goods = serializers.BooleanField(required=False)
    sells_third_party_brands = serializers.BooleanField(required=False)
    is_cross_border = serializers.BooleanField(required=False)
    bank_account_name = StrictCharField(max_length=200, required=False, allow_blank=True)
    bank_name = StrictCharField(max_length=200, required=False, allow_blank=True)
    bank_account_number = StrictCharField(max_length=64, required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True)

    def validate_requested_category_ids(self, value):
        # The merchants services sit below catalog and cannot check these ids; the
        # interface does, as the portal form does with catalog's category choices.
        known = set(catalog_selectors.category_list().filter(pk__in=value).values_list("pk", flat=True))
        unknown = sorted({i for i in value if i not in known})
        if unknown:
            raise serializers.ValidationError(_("Unknown categories: %(ids)s") % {"ids": ", ".join(map(str, unknown))})
        return value


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = DocumentKindField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text=_("Size in bytes."))
    expires_on = serializers.DateField(read_only=True, allow_null=True)
    uploaded_at = serializers.DateTimeField(read_only=True)


class DocumentUploadSerializer(serializers.Serializer):
    kind = DocumentKindField()
    # Empty files reach the service, which answers with its own code (file_empty).
    file = serializers.FileField(allow_empty_file=True, use_url=False, help_text=_("PDF, PNG or JPEG."))
    expires_on = serializers.DateField(required=False, allow_null=True)


class ApplicationSerializer(serializers.Serializer):
    """An application as its applicant and the reviewers see it."""

    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(MerchantStatus.choices, read_only=True)
    status_reason = serializers.CharField(read_only=True)
    company_name = serializers.CharField(read_only=True)
    shop_name = serializers.CharField(read_only=True)
    social_credit_code = serializers.CharField(read_only=True)
    legal_rep_name = serializers.CharField(read_only=True)
    legal_rep_id_number = MaskedField()
    contact_name = serializers.CharField(read_only=True)
    contact_phone = serializers.CharField(read_only=True)
    contact_email = serializers.CharField(read_only=True)
    requested_category_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    sales_regions = serializers.ListField(child=serializers.ChoiceField(Region.choices), read_only=True)
    cooperation_mode = serializers.ChoiceField(CooperationMode.choices, read_only=True)
    requested_tier = TierCodeField(read_only=True, allow_null=True)
    tier = TierCodeField(read_only=True, allow_null=True)
    sells_manufactured_goods = serializers.BooleanField(read_only=True)
    sells_third_party_brands = serializers.BooleanField(read_only=True)
    is_cross_border = serializers.BooleanField(read_only=True)
    bank_account_name = serializers.CharField(read_only=True)
    bank_name = serializers.CharField(read_only=True)
    bank_account_number = MaskedField()
    description = serializers.CharField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    missing = serializers.SerializerMethodField(
        help_text=_('What is still missing before submitting: {"fields": [...], "documents": [...]}.')
    )
    required_documents = serializers.SerializerMethodField()
    documents = DocumentSerializer(many=True, read_only=True, source="documents.all")

    @extend_schema_field(serializers.DictField(child=serializers.ListField(child=serializers.CharField())))
    def get_missing(self, merchant: Merchant) -> dict:
        return selectors.application_missing(merchant)

    @extend_schema_field(serializers.ListField(child=DocumentKindField()))
    def get_required_documents(self, merchant: Merchant) -> list[str]:
        return selectors.required_document_kinds(merchant)


class ApproveSerializer(serializers.Serializer):
    tier = TierCodeField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    revenue_share_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text=_("Joint operation: fraction between 0 and 1, e.g. 0.1200."),
    )
    franchise_fee = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, help_text=_("Franchise: yearly fee in yuan.")
    )


class ReasonSerializer(serializers.Serializer):
    # Blank is accepted here so that the service answers with its stable code, reason_required.
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Shown to the applicant; required.")
    )


# --- The caller's merchant and public shops ---------------------------------------------


class DepositSerializer(serializers.Serializer):
    required = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    shortfall = serializers.DecimalField(max_digits=14, decimal_places=2)


class ContractSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    settlement_days = serializers.IntegerField()
    commission_plan = serializers.CharField()
    revenue_share_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    franchise_fee = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    exclusive = serializers.BooleanField()
    category_ids = serializers.ListField(child=serializers.IntegerField())
    sales_regions = serializers.ListField(child=serializers.ChoiceField(Region.choices))


class MyMerchantSerializer(serializers.Serializer):
    """The caller's merchant; give the caller's membership as context["member"].

    `deposit` and `contract` are null for member roles whose portal sections exclude them.
    """

    id = serializers.IntegerField()
    status = serializers.ChoiceField(MerchantStatus.choices)
    shop_name = serializers.CharField()
    company_name = serializers.CharField()
    slug = serializers.CharField(allow_null=True)
    tier = TierCodeField(read_only=True, allow_null=True)
    cooperation_mode = serializers.ChoiceField(CooperationMode.choices)
    credit_grade = serializers.CharField()
    live_since = serializers.DateTimeField(allow_null=True)
    role = serializers.SerializerMethodField(help_text=_("The caller's role in this merchant."))
    bank_account_name = serializers.CharField()
    bank_name = serializers.CharField()
    bank_account_number = MaskedField()
    deposit = serializers.SerializerMethodField()
    contract = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(MemberRole.choices))
    def get_role(self, merchant: Merchant) -> str:
        return self.context["member"].role

    @extend_schema_field(DepositSerializer(allow_null=True))
    def get_deposit(self, merchant: Merchant) -> dict | None:
        if not self.context["member"].can(PortalSection.DEPOSIT):
            return None
        figures = {
            "required": selectors.deposit_required(merchant),
            "balance": selectors.deposit_balance(merchant),
            "shortfall": selectors.deposit_shortfall(merchant),
        }
        return DepositSerializer(figures).data

    @extend_schema_field(ContractSerializer(allow_null=True))
    def get_contract(self, merchant: Merchant) -> dict | None:
        if not self.context["member"].can(PortalSection.CONTRACT):
            return None
        contract = selectors.current_contract(merchant)
        return ContractSerializer(contract).data if contract else None


@extend_schema_field({"type": "string", "enum": ChangeStatus.values}, component_name="BankChangeStatus")
class BankChangeStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(ChangeStatus.choices, **kwargs)


class BankChangeInputSerializer(serializers.Serializer):
    """A new payout account; the service checks it as the application does."""

    bank_account_name = StrictCharField(max_length=200)
    bank_name = StrictCharField(max_length=200)
    bank_account_number = StrictCharField(max_length=64)


class BankChangeSerializer(serializers.Serializer):
    """A bank account change and finance's decision; the number masked."""

    id = serializers.IntegerField()
    status = BankChangeStatusField()
    bank_account_name = serializers.CharField()
    bank_name = serializers.CharField()
    bank_account_number = MaskedField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text=_("Why finance refused it."))


class PublicShopSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(source="display_name")
    description = serializers.CharField()
    logo_url = serializers.SerializerMethodField()
    tier = TierCodeField(read_only=True, allow_null=True)
    credit_grade = serializers.CharField()
    live_since = serializers.DateTimeField()

    def get_logo_url(self, merchant: Merchant) -> str | None:
        # Served by merchants.shop_urls (mounted at /shops/), which streams the stored logo.
        return f"/shops/{merchant.slug}/logo/" if merchant.logo else None
