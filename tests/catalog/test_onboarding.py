"""`merchant_approve_with_grants`: the approval and the contract's grants are one durable use
case (all or nothing, never nested in another transaction)."""

import pytest
from django.core import mail
from django.db import transaction

from catalog.errors import CatalogError
from catalog.models import CategoryGrant
from catalog.services import merchant_approve_with_grants
from marketplace.models import AuditLogEntry
from merchants.choices import MerchantStatus
from merchants.errors import MerchantError
from merchants.models import Contract, Merchant
from tests.factories import UserFactory
from tests.merchants.factories import category, merchant_in_state, tier

pytestmark = pytest.mark.django_db


def _state(merchant) -> dict:
    """Everything the use case may write, to prove a refusal wrote none of it."""
    return {
        "status": Merchant.objects.get(pk=merchant.pk).status,
        "contracts": Contract.objects.filter(merchant=merchant).count(),
        "grants": CategoryGrant.objects.filter(merchant=merchant).count(),
        "audit": AuditLogEntry.objects.count(),
    }


def test_approves_and_grants_the_contract_categories(django_capture_on_commit_callbacks):
    reviewer = UserFactory(is_staff=True)
    kitchen, garden = category("Kitchen"), category("Garden")
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, reviewer=reviewer, categories=[kitchen, garden])
    audit_before = AuditLogEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        approval = merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier("core"), reason="Good")

    assert approval.merchant.status == MerchantStatus.APPROVED
    assert approval.granted_category_ids == sorted([kitchen.pk, garden.pk])
    grants = CategoryGrant.objects.filter(merchant=merchant).order_by("category_id")
    assert [(g.category_id, g.granted_by) for g in grants] == [(kitchen.pk, reviewer), (garden.pk, reviewer)]
    assert Contract.objects.get(merchant=merchant).category_ids == [kitchen.pk, garden.pk]
    new_actions = list(
        AuditLogEntry.objects.order_by("seq").values_list("action", flat=True)[audit_before:],
    )
    assert new_actions == ["merchant.approve", "catalog.category_grants_changed"]
    assert len(mail.outbox) == 1  # the approval e-mail, after commit


def test_refuses_to_run_inside_another_transaction():
    reviewer = UserFactory(is_staff=True)
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, reviewer=reviewer)
    before = _state(merchant)

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier("core"))

    assert _state(merchant) == before
    assert before["status"] == MerchantStatus.UNDER_REVIEW


def test_a_refused_grant_undoes_the_approval(django_capture_on_commit_callbacks):
    reviewer = UserFactory(is_staff=True)
    gone = category("Discontinued")
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, reviewer=reviewer, categories=[gone])
    # The requested category was deleted during the review: the contract would name it, and
    # granting it is refused, so the merchant must not be left approved without grants.
    gone_id = gone.pk
    gone.delete()
    before = _state(merchant)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(CatalogError) as refused:
        merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier("core"))

    assert refused.value.code == "unknown_categories"
    assert refused.value.extra == {"ids": [gone_id]}
    assert _state(merchant) == before
    assert before["status"] == MerchantStatus.UNDER_REVIEW
    assert callbacks == []
    assert mail.outbox == []


def test_a_refused_approval_grants_nothing():
    reviewer = UserFactory(is_staff=True)
    merchant = merchant_in_state(MerchantStatus.UNDER_REVIEW, reviewer=reviewer, cooperation_mode="franchise")
    before = _state(merchant)

    with pytest.raises(MerchantError) as refused:
        merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=tier("core"))

    assert refused.value.code == "franchise_fee_required"
    assert _state(merchant) == before
