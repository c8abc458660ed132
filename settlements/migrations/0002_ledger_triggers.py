"""The ledger's invariants in the database itself (PostgreSQL), so no ORM call or raw
UPDATE can break them:
- postings of an entry must sum to zero: a DEFERRABLE INITIALLY DEFERRED constraint trigger
  checks every touched entry at COMMIT;
- journal entries and postings are append-only: UPDATE and DELETE raise an error.
TRUNCATE is left to the database's privileges (the test runner's flush uses it); production
should run the app as a role that does not own the tables.
"""

from django.db import migrations

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION settlements_check_entry_balanced() RETURNS trigger AS $$
    DECLARE total numeric;
    BEGIN
        SELECT COALESCE(SUM(amount), 0) INTO total FROM settlements_posting WHERE entry_id = NEW.entry_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'journal entry % is not balanced (postings sum to %)', NEW.entry_id, total
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE CONSTRAINT TRIGGER settlements_posting_balanced
        AFTER INSERT ON settlements_posting
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION settlements_check_entry_balanced();
    """,
    """
    CREATE OR REPLACE FUNCTION settlements_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % on % refused; post a correcting entry', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER settlements_posting_append_only BEFORE UPDATE OR DELETE ON settlements_posting
        FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
    """,
    """
    CREATE TRIGGER settlements_entry_append_only BEFORE UPDATE OR DELETE ON settlements_journalentry
        FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
    """,
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS settlements_entry_append_only ON settlements_journalentry",
    "DROP TRIGGER IF EXISTS settlements_posting_append_only ON settlements_posting",
    "DROP TRIGGER IF EXISTS settlements_posting_balanced ON settlements_posting",
    "DROP FUNCTION IF EXISTS settlements_refuse_change()",
    "DROP FUNCTION IF EXISTS settlements_check_entry_balanced()",
]


def _run(schema_editor, statements):
    # A plain cursor: the plpgsql bodies contain RAISE '%' placeholders that the schema
    # editor's parameter composition would try to fill.
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
