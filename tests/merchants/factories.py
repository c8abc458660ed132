"""Builders for merchants in any state, driven through the real services so every
fixture went through the same checks as production data."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Category
from catalog.services import merchant_approve_with_grants
from merchants import selectors, services
from merchants.choices import MerchantStatus
from merchants.models import Merchant, Tier
from merchants.validators import uscc_check_char
from tests.factories import UserFactory

_counter = itertools.count(1)


def valid_uscc(n: int | None = None) -> str:
    n = next(_counter) if n is None else n
    first17 = f"91310000{n:09d}"
    return first17 + uscc_check_char(first17)


VALID_ID_NUMBER = "11010519491231002X"


def png_bytes(size=(40, 30), color=(200, 60, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_upload(name="licence.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def pdf_upload(name="licence.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def category(name="Home appliances", rate: str | None = "0.1000", parent=None) -> Category:
    slug = f"{name.lower().replace(' ', '-')}-{next(_counter)}"
    return Category.objects.create(name=name, slug=slug, parent=parent, commission_rate=Decimal(rate) if rate else None)


def tier(code="core") -> Tier:
    return Tier.objects.get(code=code)


def application_data(**overrides) -> dict:
    data = {
        "company_name": "Hangzhou Bright Home Co., Ltd.",
        "shop_name": "Bright Home",
        "social_credit_code": valid_uscc(),
        "legal_rep_name": "Chen Ming",
        "legal_rep_id_number": VALID_ID_NUMBER,
        "contact_name": "Liu Yang",
        "contact_phone": "13912345678",
        "contact_email": "contact@brighthome.example.com",
        "sales_regions": ["east", "south"],
        "cooperation_mode": "platform_entry",
        "requested_tier": tier("core"),
        "bank_account_name": "Hangzhou Bright Home Co., Ltd.",
        "bank_name": "ICBC Hangzhou",
        "bank_account_number": "6222021234567890",
    }
    data.update(overrides)
    return data


def draft_application(owner=None, *, with_documents=True, categories=None, **overrides) -> Merchant:
    """A complete draft (all fields, the business licence uploaded), ready to submit."""
    owner = owner or UserFactory()
    if categories is None:
        categories = [category()]
    data = application_data(requested_category_ids=[c.pk for c in categories], **overrides)
    merchant = services.application_create(owner=owner, data=data)
    if with_documents:
        for kind in selectors.required_document_kinds(merchant):
            services.document_add(merchant=merchant, actor=owner, kind=kind, uploaded=png_upload())
    merchant.refresh_from_db()
    return merchant


def merchant_in_state(status: str, *, owner=None, reviewer=None, tier_code="core", **overrides) -> Merchant:
    """A merchant driven through the real services up to `status`."""
    reviewer = reviewer or UserFactory(is_staff=True)
    merchant = draft_application(owner, **overrides)
    owner = merchant.owner
    if status == MerchantStatus.DRAFT:
        return merchant
    merchant = services.application_submit(merchant=merchant, actor=owner)
    if status == MerchantStatus.SUBMITTED:
        return _fresh(merchant)
    merchant = services.application_start_review(merchant=merchant, actor=reviewer)
    if status == MerchantStatus.UNDER_REVIEW:
        return _fresh(merchant)
    if status == MerchantStatus.REJECTED:
        return _fresh(services.application_reject(merchant=merchant, actor=reviewer, reason="Licence unreadable"))
    if status == MerchantStatus.CHANGES_REQUESTED:
        return _fresh(
            services.application_request_changes(merchant=merchant, actor=reviewer, reason="Upload a clearer licence")
        )
    extra = {}
    if merchant.cooperation_mode == "joint_operation":
        extra["revenue_share_rate"] = Decimal("0.1200")
    if merchant.cooperation_mode == "franchise":
        extra["franchise_fee"] = Decimal("30000.00")
    # As staff approve: the contract's categories are granted with it.
    merchant = merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier(tier_code), **extra).merchant
    if status == MerchantStatus.APPROVED:
        return _fresh(merchant)
    merchant = services.contract_accept(merchant=merchant, actor=owner)
    if status == MerchantStatus.CONTRACT_SIGNED:
        return _fresh(merchant)
    services.deposit_record_payment(
        merchant=merchant, actor=reviewer, amount=selectors.deposit_required(merchant), reference=f"BANK-{merchant.pk}"
    )
    if status == MerchantStatus.DEPOSIT_PAID:
        return _fresh(merchant)
    merchant = services.merchant_go_live(merchant=merchant, actor=owner)
    if status == MerchantStatus.LIVE:
        return _fresh(merchant)
    if status == MerchantStatus.SUSPENDED:
        return _fresh(services.merchant_suspend(merchant=merchant, actor=reviewer, reason="Fake shipping reported"))
    if status == MerchantStatus.TERMINATED:
        return _fresh(services.merchant_terminate(merchant=merchant, actor=reviewer, reason="Contract breach"))
    raise ValueError(status)


def _fresh(merchant: Merchant) -> Merchant:
    return Merchant.objects.get(pk=merchant.pk)
