"""Demo of the merchant's own changes after approval (issue #15), through the real services:
明亮家居 (merchant1) has a new bank account waiting for finance, a renewed quality
certificate waiting for a reviewer, and a contract amendment waiting for its owner."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from demo.merchants import _image
from merchants import selectors, services
from merchants.models import Merchant

DEMO_MERCHANT = "merchant1@demo.local"


def seed_merchant_changes(stdout) -> int:
    User = get_user_model()
    merchant = Merchant.objects.filter(owner__email=DEMO_MERCHANT).first()
    if merchant is None:
        return 0
    owner = merchant.owner
    created = 0
    if not merchant.bank_changes.exists():
        services.bank_change_request(
            merchant=merchant,
            actor=owner,
            bank_account_name=merchant.company_name,
            bank_name="招商银行杭州分行",
            bank_account_number="6214830000000001",
        )
        created += 1
    certificate = selectors.document_current_list(merchant).filter(kind="quality_certification").first()
    if certificate is not None and not certificate.renewals.exists() and services.document_renewable(certificate):
        services.document_renew(
            merchant=merchant,
            actor=owner,
            document=certificate,
            uploaded=SimpleUploadedFile("quality_certification.png", _image(f"{merchant.company_name} ISO 9001 2027")),
            expires_on=timezone.localdate() + datetime.timedelta(days=3 * 365),
        )
        created += 1
    contract = selectors.current_contract(merchant)
    if contract is not None and contract.status == "accepted" and not merchant.amendments.exists():
        services.amendment_propose(
            contract=contract,
            actor=User.objects.get(email="ops@demo.local"),
            reason="旺季结算提速：结算周期由 T+15 缩短为 T+7，并新增华中销售区域。",
            settlement_days=7,
            sales_regions=[*contract.sales_regions, "central"],
        )
        created += 1
    return created
