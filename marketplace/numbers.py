"""Business numbers that are unique by construction, never by chance.

A number a person reads (an order, a contract, a payout batch) is a readable prefix (a
letter and the date) followed by the next value of a PostgreSQL sequence. Two callers never
get the same value, however many run at once, and `nextval` takes no lock that others wait
for: a sequence is not a serialisation point, unlike a counter row or a `MAX() + 1`.

What a sequence does not give, on purpose: numbers without gaps. A value taken by a
transaction that rolls back is not handed out again (an order refused for stock leaves a
gap). Numbers that must have no gaps (invoices: the law counts them) keep a counter row locked
while numbering instead.

Each sequence is created by its app's migration with `create_sequence`.
"""

from __future__ import annotations

from django.db import connection, migrations


def sequence_next(name: str) -> int:
    """The next value of the sequence `name` (unique for ever, even across rolled-back
    transactions; increasing but with gaps). Takes no lock and never waits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [name])
        return cursor.fetchone()[0]


def create_sequence(name: str) -> migrations.RunSQL:
    """The migration operation that creates the sequence `name` (and drops it when reversed).

    Names are lower-case identifiers chosen in code, never user input, so quoting them is
    enough."""
    return migrations.RunSQL(
        sql=f'CREATE SEQUENCE IF NOT EXISTS "{name}" AS bigint START 1',
        reverse_sql=f'DROP SEQUENCE IF EXISTS "{name}"',
    )
