"""Periodic jobs that go over many items (orders to cancel, requests to accept, …).

`run_each` gives every such job the same guarantees:
- each item is handled in its own transaction: a failure rolls back that item only;
- a failing item never stops the loop: its error is recorded as a `JobFailure` (its stable
  code: the `DomainError` code, or the name of the database constraint that refused it) for
  staff to see in the admin, and the job goes on with the next item;
- one row per job and item: failing again counts up and refreshes the code and message; a
  later run that handles the item without error marks the row resolved;
- a soft time limit still stops the job (the next run carries on from the data).

`enqueue_on_commit` is how services start a Celery task: by the task's name, after the
transaction commits. Services never import their app's `tasks` module (tasks import services,
so the dependency runs one way; an import-linter contract keeps it so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import current_app
from celery.exceptions import NotRegistered, SoftTimeLimitExceeded
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .errors import DomainError
from .models import JobFailure

logger = logging.getLogger(__name__)

MESSAGE_MAX = 2000


@dataclass
class JobRun:
    """What one run did: items handled (`done`), skipped (nothing to do any more), failed."""

    done: int = 0
    skipped: int = 0
    failed: int = 0


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Enqueue the registered task `task_name` with these arguments once the current
    transaction commits (at once outside a transaction); a rollback enqueues nothing.

    The task is looked up by name when the transaction commits, so the calling service needs no
    import of the tasks module; an unknown name raises `KeyError` there (a programming error,
    caught by the tests that run the service).
    """
    transaction.on_commit(lambda: _registered_task(task_name).delay(*args, **kwargs))


def _registered_task(name: str):
    try:
        return current_app.tasks[name]
    except NotRegistered:
        # A web process registers tasks only as their modules are imported; the worker imports
        # them all at start. Load the apps' `tasks` modules the way the worker does, then look again.
        current_app.loader.import_default_modules()
        return current_app.tasks[name]


def error_code(exc: BaseException) -> str:
    """The stable code of an error: a DomainError's code, else the database constraint that
    refused the write, else `unexpected_error`."""
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, DatabaseError):
        diag = getattr(exc.__cause__, "diag", None)
        name = getattr(diag, "constraint_name", None)
        if name:
            return name
        return "integrity_error" if isinstance(exc, IntegrityError) else "database_error"
    return "unexpected_error"


def _message(exc: BaseException) -> str:
    text = str(exc.message) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    return text[:MESSAGE_MAX]


def job_failure_record(*, job: str, object_type: str, object_id, exc: BaseException) -> JobFailure:
    """Record (or count again) the failure of one item of `job`; reopens a resolved row."""
    now = timezone.now()
    key = {"job": job, "object_type": object_type, "object_id": str(object_id)}
    values = {"code": error_code(exc), "message": _message(exc), "last_seen": now, "resolved_at": None}
    with transaction.atomic():
        if not JobFailure.objects.filter(**key).update(count=F("count") + 1, **values):
            try:
                with transaction.atomic():
                    return JobFailure.objects.create(**key, **values, first_seen=now)
            except IntegrityError:  # recorded meanwhile by an overlapping run
                JobFailure.objects.filter(**key).update(count=F("count") + 1, **values)
    return JobFailure.objects.get(**key)


def job_failure_resolve(*, job: str, object_type: str, object_id) -> int:
    """Mark the open failure of this item resolved: the job handled it at last."""
    return JobFailure.objects.filter(
        job=job, object_type=object_type, object_id=str(object_id), resolved_at__isnull=True
    ).update(resolved_at=timezone.now())


def run_each(*, job: str, object_type: str, ids: Iterable, handle: Callable[[object], bool]) -> JobRun:
    """Call `handle(id)` for each id, each in its own transaction; `handle` returns whether
    it did something (False: nothing to do any more). See the module for the guarantees."""
    run = JobRun()
    # Read once: resolving is then a write only for the few items that had failed before,
    # not an UPDATE per item handled.
    failed_before = set(
        JobFailure.objects.filter(job=job, object_type=object_type, resolved_at__isnull=True).values_list(
            "object_id", flat=True
        )
    )
    for pk in list(ids):
        try:
            with transaction.atomic():
                did = handle(pk)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            run.failed += 1
            if not isinstance(exc, DomainError):
                logger.exception("%s failed on %s %s", job, object_type, pk)
            try:
                job_failure_record(job=job, object_type=object_type, object_id=pk, exc=exc)
            except DatabaseError:
                logger.exception("%s could not record the failure of %s %s", job, object_type, pk)
            continue
        if did:
            run.done += 1
        else:
            run.skipped += 1
        if str(pk) in failed_before:
            job_failure_resolve(job=job, object_type=object_type, object_id=pk)
    return run
