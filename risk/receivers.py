"""Receivers of the signals risk listens to (connected in apps.py). They carry no business
rule: each hands the event to one service of `services.alerts`."""

from __future__ import annotations

from decimal import Decimal

from marketplace.jobs import enqueue_on_commit

from .services.alerts import bank_account_change_check


def credit_grade_changed(sender, *, merchant_id, previous, grade, **kwargs):
    """Sent inside the grade's transaction: the alert is raised by a task after it commits
    (nothing is scheduled if it rolls back)."""
    if grade == "D" or previous == "D":
        enqueue_on_commit("risk.tasks.alert_credit_grade_task", merchant_id, previous, grade)


def quarterly_evaluation_completed(sender, *, merchant_id, evaluation_id, score, quarter, **kwargs):
    """A quarterly evaluation was recorded: a task raises the alert after commit if it scored low."""
    enqueue_on_commit(
        "risk.tasks.alert_quarterly_score_task",
        merchant_id,
        evaluation_id,
        str(Decimal(str(score))),
        str(quarter),
    )


def bank_account_changed(sender, *, merchant_id, changed_at, **kwargs):
    """Sent after the change committed: the hold is placed at once, in its own transaction, so
    a payout batch created a moment later already leaves the merchant out."""
    bank_account_change_check(merchant_id=merchant_id, changed_at=changed_at)
