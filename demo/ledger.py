"""Demo ledger for `make run`: every kind of money movement at least once, then their journal
entries, posted as the beat's `settlements.tasks.ledger_post_pending_task` would post them a
minute later. Buyers' payments, refunds, deposits paid and payouts come from the other demo
steps; here finance deducts a compensation from the suspended shop's deposit and refunds the
terminated shop's deposit. Idempotent: each movement has a fixed reference and is skipped
once recorded, and a second posting run finds nothing left to post."""

from django.contrib.auth import get_user_model

from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.models import Merchant
from settlements import services

FINANCE = "finance@demo.local"
SUSPENDED_SHOP = "merchant14@demo.local"
TERMINATED_SHOP = "merchant15@demo.local"


def _recorded(merchant, reference: str) -> bool:
    return merchant_selectors.deposit_entries().filter(merchant=merchant, reference=reference).exists()


def _deposit_movements() -> None:
    finance = get_user_model().objects.filter(email=FINANCE).first()
    if finance is None:
        return
    suspended = Merchant.objects.filter(owner__email=SUSPENDED_SHOP).first()
    reference = "DEMO-PEN-14"
    if (
        suspended is not None
        and not _recorded(suspended, reference)
        and merchant_selectors.deposit_balance(suspended) >= 2000
    ):
        merchant_services.deposit_deduct(
            merchant=suspended,
            actor=finance,
            amount="2000.00",
            reason="虚假发货赔付买家（演示，工单 CS-30112）",
            reference=reference,
        )
    terminated = Merchant.objects.filter(owner__email=TERMINATED_SHOP, status="terminated").first()
    reference = "DEMO-REFUND-15"
    if (
        terminated is not None
        and not _recorded(terminated, reference)
        and merchant_selectors.deposit_balance(terminated) > 0
    ):
        merchant_services.deposit_refund(merchant=terminated, actor=finance, reference=reference)


def seed_ledger(stdout) -> int:
    """Record the demo's deposit deduction and refund, then post every movement not posted
    yet; returns the number of entries posted."""
    _deposit_movements()
    result = services.ledger_post_pending(time_budget=600)
    return sum(result.posted.values())
