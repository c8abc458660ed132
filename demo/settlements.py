"""Demo settlements for `make run`: the two calendar months before the current one, settled
by the real run (`run_start` without the task queue, then `settle_batch` per batch, as the
worker does) on the orders of the orders demo (demo/orders.py).

- First month: every statement is approved by finance@demo.local, invoiced, put in a payout
  batch (exported) and marked paid by admin@demo.local (segregation of duties: whoever
  approved a statement cannot confirm its payment), except the batch's last payout, which the
  bank returns the next day (`FAILED_PAYOUT_REASON`): that statement stays approved and owed,
  for finance's next batch, and the ledger reverses the payout sent. It holds a refund
  settled with its order.
- Second month: a manual adjustment (created before the run), the clawback of a refund made
  after its order was settled in the first month, the order frozen by the open dispute
  (listed, not paid), and statements left to review (draft) so finance has work to do.

Each step happens at a plausible moment (`demo.orders.clock` moves the clock the
services read): each run at 02:00 on the 1st of the next month (the second one at the latest
now), approval and invoices on the 3rd, the payout batch on the 5th, the payments on the 6th,
the returned one on the 7th.

Idempotent: when a run or statements of either demo month exist (the demo settles a fresh
database only), the step creates nothing. Other periods do not count: the subsidies step
(demo/subsidies.py) settles a December before the demo months for the tax rebate.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from demo.catalog import SHOPS
from demo.orders import clock, demo_periods
from merchants.models import Merchant
from orders.choices import OrderStatus
from orders.models import MerchantOrder
from settlements import selectors, services
from settlements.choices import PayoutStatus
from settlements.models import SettlementRun, Statement
from settlements.periods import Period, local_midnight

FINANCE = "finance@demo.local"
ADMIN = "admin@demo.local"
#: Why the bank returned the first month's last payout (the demo's failed payout).
FAILED_PAYOUT_REASON = "收款账户已注销，银行退票（演示）"


def _on(period: Period, day: int, hour: int, minute: int = 0):
    return local_midnight(period.first_day + timedelta(days=day - 1)) + timedelta(hours=hour, minutes=minute)


def _run(period: Period, *, at, actor) -> int:
    """Settle `period` at `at` exactly as the queued run does: one `settle_batch` per batch."""
    with clock(at):
        run = services.run_start(period=str(period), actor=actor, enqueue=False)
        for batch_id in selectors.run_batch_ids(run):
            services.settle_batch(batch_id=batch_id)
    return Statement.objects.filter(run=run).count()


def _approve_and_pay(period: Period, *, finance, admin) -> None:
    """Finance approves and invoices every statement of `period` and sends the positive ones
    to the bank; the admin (not the approver) confirms the payments, and the next day records
    the last one as returned by the bank (it stays owed)."""
    month = period.next
    statements = list(Statement.objects.filter(period=str(period)).order_by("merchant_id"))
    with clock(_on(month, 3, 10)):
        for statement in statements:
            services.statement_approve(statement=statement, actor=finance)
    with clock(_on(month, 3, 10, 30)):
        for statement in statements:
            services.invoice_issue(statement=statement, actor=finance)
    payable = [s.pk for s in statements if s.payable > 0]
    if not payable:
        return
    with clock(_on(month, 5, 9, 30)):
        batch = services.payout_batch_create(actor=finance, statement_ids=payable)
        services.payout_batch_csv(batch=batch, actor=finance)
    payouts = list(batch.payouts.filter(status=PayoutStatus.PENDING).order_by("pk"))
    returned = payouts.pop() if len(payouts) > 1 else None
    with clock(_on(month, 6, 15)):
        for n, payout in enumerate(payouts, start=1):
            services.payout_mark_paid(payout=payout, actor=admin, bank_reference=f"CMB{month.first_day:%Y%m}06{n:06d}")
    if returned is not None:
        with clock(_on(month, 7, 10)):
            services.payout_mark_failed(payout=returned, actor=admin, reason=FAILED_PAYOUT_REASON)


def _settle(first: Period, second: Period, *, finance, admin, merchants: list[Merchant]) -> int:
    now = timezone.now()
    created = _run(first, at=_on(second, 1, 2), actor=finance)
    _approve_and_pay(first, finance=finance, admin=admin)
    # A credit for the second month, settled by its run.
    credited = merchants[2 % len(merchants)]
    with clock(_on(second, 20, 14)):
        services.adjustment_create(
            merchant=credited,
            period=str(second),
            amount="150.00",
            reason="平台仓配延误补偿（华东中心仓，工单 CS-20417）",
            actor=finance,
        )
    created += _run(second, at=min(_on(second.next, 1, 2), now), actor=finance)
    return created


def seed_settlements(stdout) -> int:
    """Settle the two demo months; returns the number of statements created."""
    User = get_user_model()
    finance = User.objects.filter(email=FINANCE).first()
    admin = User.objects.filter(email=ADMIN).first()
    first, second = demo_periods()
    if finance is None or admin is None:
        return 0
    # Its own months only: the subsidies step already settled the tax rebate's December.
    if SettlementRun.objects.filter(period__in=[str(first), str(second)]).exists():
        return 0
    if Statement.objects.filter(period__in=[str(first), str(second)]).exists():
        return 0
    merchants = list(Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS]).order_by("pk"))
    if not MerchantOrder.objects.filter(merchant__in=merchants, status=OrderStatus.COMPLETED).exists():
        stdout.write("seed_demo: settlements: skipped, the demo merchants have no completed orders")
        return 0
    with transaction.atomic():
        created = _settle(first, second, finance=finance, admin=admin, merchants=merchants)
    stdout.write(
        f"seed_demo: settlements: {first} approved, invoiced and paid; {second} waiting for review by {FINANCE}"
    )
    return created
