"""Penalties and service fees in the admin: who raises, decides, deducts, records and edits
(operations, finance, reviewer, plain staff), and that a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.models import AuditLogEntry
from marketplace.roles import FINANCE, OPERATIONS, REVIEWER, sync_staff_groups
from merchants import selectors as merchant_selectors
from settlements import services
from settlements.models import FeeCharge, Penalty, PenaltyParameter, SubscriptionPlan
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import pdf_upload
from tests.settlements.charges_defaults import ensure_charge_defaults
from tests.settlements.test_runs import at

pytestmark = pytest.mark.django_db
ADMIN = "/admin/settlements/"


@pytest.fixture(autouse=True)
def _setup(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    sync_staff_groups()
    ensure_charge_defaults()


def staff(group=None):
    user = UserFactory(is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def test_operations_raise_a_penalty_with_evidence_others_may_not(client):
    merchant, _c = live_merchant()
    data = {"merchant": merchant.pk, "kind": "fake_shipment", "amount": "", "reason": "No carrier scan"}
    for user in [staff(), staff(REVIEWER), staff(FINANCE)]:
        client.force_login(user)
        assert client.post(f"{ADMIN}penalty/add/", {**data, "evidence": [pdf_upload()]}).status_code == 403
    assert Penalty.objects.count() == 0

    client.force_login(staff(OPERATIONS))
    assert client.get(f"{ADMIN}penalty/add/").status_code == 200
    bad = client.post(f"{ADMIN}penalty/add/", {**data, "evidence": [SimpleUploadedFile("x.pdf", b"GIF89a")]})
    assert bad.status_code == 200 and "Only PDF, PNG and JPEG" in bad.content.decode()
    assert Penalty.objects.count() == 0
    response = client.post(f"{ADMIN}penalty/add/", {**data, "evidence": [pdf_upload("scan.pdf")]})
    penalty = Penalty.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"{ADMIN}penalty/{penalty.pk}/change/")
    # No amount given: the parameter of the kind (¥500.00 by default).
    assert (penalty.amount, penalty.status, penalty.files.get().original_name) == (
        Decimal("500.00"),
        "open",
        "scan.pdf",
    )
    page = client.get(f"{ADMIN}penalty/{penalty.pk}/change/").content.decode()
    file_url = f"{ADMIN}penalty/{penalty.pk}/files/{penalty.files.get().pk}/"
    assert file_url in page
    assert b"".join(client.get(file_url).streaming_content).startswith(b"%PDF-")
    client.force_login(staff(REVIEWER))
    assert client.get(file_url).status_code == 403


def test_operations_decide_an_appeal_finance_deducts_from_the_deposit(client):
    merchant, _c = live_merchant()
    penalty = services.penalty_raise(
        merchant=merchant, kind="counterfeit", amount="800.00", reason="Fake", actor=staff(), now=at(2026, 10, 1, 9)
    )
    services.penalty_appeal(
        penalty=penalty, merchant=merchant, actor=merchant.owner, statement="Genuine", now=at(2026, 10, 2, 9)
    )
    reject = f"{ADMIN}penalty/{penalty.pk}/reject/"
    client.force_login(staff(FINANCE))
    assert client.post(reject, {"reason": "Brand confirmed fake"}).status_code == 403
    client.force_login(staff(OPERATIONS))
    assert client.post(reject, {"reason": ""}).status_code == 200
    penalty.refresh_from_db()
    assert penalty.status == "appealed"
    assert client.post(reject, {"reason": "Brand confirmed fake"}).status_code == 302
    penalty.refresh_from_db()
    assert (penalty.status, penalty.decision_reason) == ("stands", "Brand confirmed fake")

    balance = merchant_selectors.deposit_balance(merchant)
    deduct = f"{ADMIN}penalty/{penalty.pk}/deduct_deposit/"
    assert client.post(deduct, {}).status_code == 403  # operations cannot write the deposit ledger
    client.force_login(staff(FINANCE))
    assert client.post(deduct, {}).status_code == 302
    penalty.refresh_from_db()
    assert (penalty.status, penalty.settled_via) == ("deducted", "deposit")
    assert merchant_selectors.deposit_balance(merchant) == balance - Decimal("800.00")
    assert AuditLogEntry.objects.filter(action="settlements.penalty_deducted_from_deposit").count() == 1


def test_operations_record_value_added_charges_and_edit_prices_with_an_audit_row(client):
    merchant, _c = live_merchant()
    data = {
        "merchant": merchant.pk,
        "kind": "homepage_slot",
        "amount": "1500.00",
        "description": "Home page, week 45",
        "reference": "HP-45",
    }
    client.force_login(staff(REVIEWER))
    assert client.post(f"{ADMIN}feecharge/add/", data).status_code == 403
    assert client.get(f"{ADMIN}penaltyparameter/").status_code == 403
    client.force_login(staff(OPERATIONS))
    assert client.post(f"{ADMIN}feecharge/add/", data).status_code == 302
    again = client.post(f"{ADMIN}feecharge/add/", data)
    assert again.status_code == 200 and "This reference was already billed." in again.content.decode()
    assert list(FeeCharge.objects.values_list("kind", "amount", "key")) == [
        ("homepage_slot", Decimal("1500.00"), "HP-45")
    ]

    late = PenaltyParameter.objects.get(kind="late_shipment")
    response = client.post(f"{ADMIN}penaltyparameter/{late.pk}/change/", {"amount": "80.00"})
    assert response.status_code == 302
    late.refresh_from_db()
    assert late.amount == Decimal("80.00")
    assert AuditLogEntry.objects.filter(action="settlements.penaltyparameter_changed").count() == 1
    refused = client.post(f"{ADMIN}penaltyparameter/{late.pk}/change/", {"amount": "-1"})
    assert refused.status_code == 200
    late.refresh_from_db()
    assert late.amount == Decimal("80.00")
    gold = SubscriptionPlan.objects.get(code="gold")
    assert client.get(f"{ADMIN}subscriptionplan/{gold.pk}/change/").status_code == 200
    client.force_login(staff(FINANCE))
    assert client.get(f"{ADMIN}feecharge/").status_code == 200
    assert client.get(f"{ADMIN}penalty/").status_code == 200
    assert client.post(f"{ADMIN}feecharge/add/", {**data, "reference": "HP-46"}).status_code == 403


def test_the_statement_admin_lists_its_penalties_and_fee_charges(client):
    from settlements.models import Statement, ValueAddedService
    from tests.settlements.test_runs import _settle

    merchant, _c = live_merchant()
    penalty = services.penalty_raise(
        merchant=merchant, kind="counterfeit", amount="800.00", reason="Fake", actor=staff(), now=at(2026, 10, 1, 9)
    )
    services.value_added_purchase(
        merchant=merchant,
        service=ValueAddedService.objects.get(kind="homepage_slot"),
        actor=merchant.owner,
        reference="r-1",
        today=at(2026, 10, 2, 9).date(),
    )
    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = Statement.objects.get(merchant=merchant)
    client.force_login(staff(FINANCE))
    page = client.get(f"{ADMIN}statement/{statement.pk}/change/").content.decode()
    assert f'href="{ADMIN}penalty/{penalty.pk}/change/"' in page
    assert "-¥800.00" in page and "-¥2,000.00" in page and "Home-page slot rental" in page
