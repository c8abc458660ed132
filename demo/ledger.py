"""Demo ledger for `make run`: the journal entries of the demo's money movements (buyers'
payments captured, refunds returned, deposits paid), posted as the beat's
`settlements.tasks.ledger_post_pending_task` would post them a minute later. Idempotent: a
second run finds nothing left to post."""

from settlements import services


def seed_ledger(stdout) -> int:
    """Post every movement not posted yet; returns the number of entries posted."""
    result = services.ledger_post_pending(time_budget=600)
    return sum(result.posted.values())
