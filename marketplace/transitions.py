"""One way to move a state: each stateful model's transition table, and the one helper
every state change goes through.

A model keeps its `Transitions` table in its `models.py`, right after the model: action →
(the states it may start from, the state it leads to), the error it refuses with and the
message. The table is also the one answer to "may this be done now?" (`allows`, `can`,
`predicate`), for services, selectors, the admin's action buttons and the templates alike,
so no second copy of "which states allow X" can drift from the rule the service enforces.

`transition()` does the change the same way everywhere: lock the row, check the table,
one UPDATE of the state and the fields that change with it, the event/audit row, side
effects after commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.transaction import TransactionManagementError
from django.utils.translation import gettext_lazy as _

from .errors import InvalidTransition

M = TypeVar("M", bound=models.Model)

#: The refusal of a table that names none of its own.
DEFAULT_REFUSAL = _("This cannot be done while it is “%(status)s”.")


class Transitions:
    """A model's state machine: `table` maps an action to (states it may start from, state
    it leads to). A refused action raises `error` (409 `invalid_transition`) with
    `refusal` (or the action's entry of `refusals`) formatted with the current state's label
    as `%(status)s`, and `extra` {"status": …, "action": …} (without "action" when
    `extra_action` is false)."""

    def __init__(
        self,
        table: Mapping[str, tuple[Iterable[str], str]],
        *,
        field: str = "status",
        error: type[InvalidTransition] = InvalidTransition,
        refusal: Any = DEFAULT_REFUSAL,
        refusals: Mapping[str, Any] | None = None,
        extra_action: bool = True,
    ):
        self.table = {action: (frozenset(sources), target) for action, (sources, target) in table.items()}
        self.field = field
        self.error = error
        self.refusal = refusal
        self.refusals = dict(refusals or {})
        self.extra_action = extra_action

    # The table reads like the plain dict it replaces: `TRANSITIONS[action]` → (sources, target).
    def __getitem__(self, action: str) -> tuple[frozenset[str], str]:
        return self.table[action]

    def __contains__(self, action: object) -> bool:
        return action in self.table

    def __iter__(self):
        return iter(self.table)

    def sources(self, action: str) -> frozenset[str]:
        """The states `action` may start from."""
        return self.table[action][0]

    def target(self, action: str) -> str:
        """The state `action` leads to."""
        return self.table[action][1]

    def allows(self, action: str, status: str) -> bool:
        """Whether `action` may start from `status`."""
        return status in self.table[action][0]

    def can(self, action: str, obj: models.Model) -> bool:
        """Whether `action` may be done to `obj` in its current (possibly stale) state."""
        return self.allows(action, getattr(obj, self.field))

    def predicate(self, action: str) -> Callable[[models.Model], bool]:
        """`can(action, ·)` as a one-argument function (for admin action availability)."""
        return partial(_can, self, action)

    def refuse(self, obj: models.Model, action: str) -> InvalidTransition:
        """The error that refuses `action` on `obj` in its current state."""
        status = getattr(obj, self.field)
        display = getattr(obj, f"get_{self.field}_display", None)
        message = self.refusals.get(action, self.refusal)
        if "%(status)s" in str(message):
            message = message % {"status": display() if display else status}
        extra = {"status": status, "action": action} if self.extra_action else {"status": status}
        return self.error(message=message, extra=extra)

    def check(self, obj: models.Model, action: str) -> None:
        """Refuse (409 `invalid_transition`) unless `action` may start from `obj`'s state.
        Call on a locked row for a decision that holds until the transaction ends."""
        if not self.can(action, obj):
            raise self.refuse(obj, action)


def _can(table: Transitions, action: str, obj: models.Model) -> bool:
    return table.can(action, obj)


def transition(
    obj: M,
    action: str,
    *,
    table: Transitions,
    lock: bool = True,
    queryset: models.QuerySet | None = None,
    changes: Mapping[str, Any] | None = None,
    record: Callable[[M, str], Any] | None = None,
    on_commit: Iterable[Callable[[], Any]] = (),
) -> M:
    """Move `obj` by `action` of `table`, inside the caller's transaction; returns the row.

    Guarantees:
    - the row is locked (`select_for_update`, from `queryset` if given, e.g. with
      `select_related`) before its state is read, so concurrent transitions of one row
      serialise and the second sees the first's result. Pass `lock=False` only for a row the
      caller has already locked in this transaction (when other checks must come first);
    - a state the table does not allow is refused with the table's error (409
      `invalid_transition`) before anything is written;
    - one UPDATE writes the state, the `changes` made with it (so the row never exists half
      moved) and the model's `auto_now` fields;
    - `record(row, previous_state)` then writes the event/audit row in the same transaction;
    - each `on_commit` callable runs once the transaction commits, never after a rollback.
    Raises `TransactionManagementError` outside a transaction (the lock would end at once).
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError("transition() must run inside the caller's transaction.")
    model = type(obj)
    if lock:
        source = queryset if queryset is not None else model._default_manager.all()
        obj = source.select_for_update().get(pk=obj.pk)
    table.check(obj, action)
    previous = getattr(obj, table.field)
    changes = dict(changes or {})
    setattr(obj, table.field, table.target(action))
    for name, value in changes.items():
        setattr(obj, name, value)
    auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    obj.save(update_fields=list(dict.fromkeys([table.field, *changes, *auto_now])))
    if record is not None:
        record(obj, previous)
    for effect in on_commit:
        transaction.on_commit(effect)
    return obj
