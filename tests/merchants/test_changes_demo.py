"""The demo of the merchant's changes after approval (issue #15): one of each waiting, and a
second run changes nothing."""

from __future__ import annotations

import io

import pytest

from demo.catalog import seed_categories
from demo.merchant_changes import seed_merchant_changes
from demo.merchants import seed_merchants
from demo.users import seed_users
from merchants.choices import AmendmentStatus, ChangeStatus, DocumentStatus
from merchants.models import BankAccountChange, ContractAmendment, Merchant, MerchantDocument

pytestmark = pytest.mark.django_db


def test_demo_has_one_change_of_each_kind_waiting():
    out = io.StringIO()
    seed_users(out)
    seed_categories(out)
    seed_merchants(out)
    assert seed_merchant_changes(out) == 3
    merchant = Merchant.objects.get(owner__email="merchant1@demo.local")
    change = BankAccountChange.objects.get()
    assert (change.merchant, change.status, change.bank_account_number) == (
        merchant,
        ChangeStatus.PENDING,
        "6214830000000001",
    )
    renewal = MerchantDocument.objects.get(status=DocumentStatus.PENDING)
    assert (renewal.merchant, renewal.kind, renewal.renews.kind) == (
        merchant,
        "quality_certification",
        "quality_certification",
    )
    amendment = ContractAmendment.objects.get()
    assert (amendment.merchant, amendment.status, amendment.settlement_days, amendment.sales_regions) == (
        merchant,
        AmendmentStatus.PROPOSED,
        7,
        ["east", "south", "north", "central"],
    )
    assert seed_merchant_changes(out) == 0
    assert (BankAccountChange.objects.count(), ContractAmendment.objects.count()) == (1, 1)
    assert MerchantDocument.objects.filter(status=DocumentStatus.PENDING).count() == 1
