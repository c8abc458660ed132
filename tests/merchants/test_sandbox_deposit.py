"""The sandbox deposit payment exists only while the sandbox gateway is enabled.

Issue #10, finding 2: with DEBUG off a contract-signed merchant posted to /portal/deposit/pay/,
its deposit went 0 → 50,000 without any money, and /portal/go-live/ opened the shop.
"""

from decimal import Decimal

import pytest
from django.test import override_settings

from marketplace.models import AuditLogEntry as AuditLog
from marketplace.sandbox import SandboxDisabled
from merchants import selectors, services
from merchants.choices import MerchantStatus
from merchants.models import DepositEntry, Merchant
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state

pytestmark = pytest.mark.django_db

PRODUCTION = {"DEBUG": False, "SANDBOX_GATEWAY_ENABLED": False}


def _unchanged(merchant, audit_rows):
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.CONTRACT_SIGNED
    assert selectors.deposit_balance(merchant) == Decimal("0.00")
    assert DepositEntry.objects.filter(merchant=merchant).count() == 0
    assert AuditLog.objects.count() == audit_rows


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_the_deposit_payment_route_does_not_exist_and_the_shop_stays_closed(client):
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    client.force_login(merchant.owner)
    audit_rows = AuditLog.objects.count()
    for _ in range(2):
        response = client.post("/portal/deposit/pay/", {"payment_key": "k" * 32})
        assert response.status_code == 404
    client.post("/portal/go-live/")
    _unchanged(merchant, audit_rows)


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_anonymous_and_get_requests_find_no_route(client):
    assert client.post("/portal/deposit/pay/", {"payment_key": "k" * 32}).status_code == 404
    client.force_login(UserFactory())
    assert client.get("/portal/deposit/pay/").status_code == 404


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_the_deposit_page_offers_only_a_bank_transfer(client):
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    client.force_login(merchant.owner)
    page = client.get("/portal/deposit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/portal/deposit/pay/" not in page
    assert "(sandbox)" not in page
    assert "Pay ¥20,000.00 by bank transfer: finance confirms it here once received." in page


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_the_service_refuses_whoever_calls_it():
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    audit_rows = AuditLog.objects.count()
    with pytest.raises(SandboxDisabled) as info:
        services.deposit_pay_shortfall_sandbox(merchant=merchant, actor=merchant.owner, payment_key="k" * 32)
    assert (info.value.code, info.value.status_code) == ("sandbox_disabled", 409)
    _unchanged(merchant, audit_rows)


@override_settings(DEBUG=False, SANDBOX_GATEWAY_ENABLED=True)
def test_the_flag_not_debug_decides_a_demo_deployment_pays_through_the_sandbox(client):
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    client.force_login(merchant.owner)
    page = client.get("/portal/deposit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'action="/portal/deposit/pay/"' in page
    assert "Pay ¥20,000.00 (sandbox)" in page
    assert client.post("/portal/deposit/pay/", {"payment_key": "k" * 32})["Location"] == "/portal/deposit/"
    assert list(DepositEntry.objects.filter(merchant=merchant).values_list("amount", "reference")) == [
        (Decimal("20000.00"), "sandbox-" + "k" * 32)
    ]
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.DEPOSIT_PAID


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_finance_still_records_a_bank_transfer():
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED, tier_code="potential")
    services.deposit_record_payment(
        merchant=merchant, actor=UserFactory(is_staff=True), amount="20000.00", reference="BANK-1"
    )
    merchant.refresh_from_db()
    assert (merchant.status, selectors.deposit_balance(merchant)) == (MerchantStatus.DEPOSIT_PAID, Decimal("20000.00"))
