"""Celery tasks of the kernel. Tasks take ids, call one service, and hold no logic."""

import logging

from celery import shared_task

from .audit import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(time_limit=1800, soft_time_limit=1700)
def audit_chain_verify_task() -> dict:
    """Nightly: verify the audit hash chain; log an error naming the first bad entry."""
    problem = audit_chain_verify()
    if problem is not None:
        logger.error("Audit chain broken at %s", problem)
        return {"ok": False, "problem": str(problem)}
    return {"ok": True}
