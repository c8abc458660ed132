"""DATABASE_SERVER_SIDE_BINDING (on by default, marketplace/settings.py): statements are bound server-side,
so a reused connection prepares its hot statements once and PostgreSQL stops parsing and
planning them on every request (issue #12, database time per order). A statement then carries
at most 65,535 parameters: the backend (marketplace/db/postgresql) batches bulk writes by it
and binds a larger statement client-side."""

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from catalog.models import Tag
from marketplace.db.postgresql.base import MAX_QUERY_PARAMS

pytestmark = pytest.mark.django_db


@pytest.fixture
def bound_server_side():
    """A second psycopg connection to the test database, opened by Django's backend as the
    opt-in configures it (its cursor class, its prepare threshold)."""
    options = {**connection.settings_dict["OPTIONS"], "server_side_binding": True, "prepare_threshold": 5}
    wrapper = type(connections["default"])(
        {**connection.settings_dict, "OPTIONS": options}, alias="server_side_binding"
    )
    raw = wrapper.get_new_connection(wrapper.get_connection_params())
    raw.autocommit = True
    yield raw
    raw.close()


def test_a_statement_run_again_and_again_is_prepared_once_on_the_connection(bound_server_side):
    with bound_server_side.cursor() as cursor:
        assert type(cursor).__name__ == "ServerBindingCursor"
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM catalog_sku WHERE id = %s", [0])
            assert cursor.fetchone() == (0,)
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        assert [row[0] for row in cursor.fetchall()] == ["SELECT count(*) FROM catalog_sku WHERE id = $1"]


def test_the_suite_runs_with_prepared_statements_as_production_does():
    assert connection.settings_dict["ENGINE"] == "marketplace.db.postgresql"
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM catalog_sku WHERE id = %s", [0])
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%catalog_sku WHERE id%"]
        )
        assert [row[0] for row in cursor.fetchall()] == ["SELECT count(*) FROM catalog_sku WHERE id = $1"]


def _tags(count):
    return [Tag(name=f"t{i}", slug=f"t-{i}") for i in range(count)]


def test_a_bulk_create_of_more_parameters_than_one_statement_carries_is_split_into_batches():
    # 2 parameters a row: 40,000 rows are 80,000 parameters, 32,767 rows per statement.
    with CaptureQueriesContext(connection) as queries:
        created = Tag.objects.bulk_create(_tags(40_000))
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "catalog_tag"')]
    assert (len(inserts), len(created), Tag.objects.count()) == (2, 40_000, 40_000)
    assert len({tag.pk for tag in created}) == 40_000
    assert Tag.objects.get(name="t39999").slug == "t-39999"


def test_a_bulk_update_of_more_parameters_than_one_statement_carries_is_written():
    # Django sizes an update's batches as 2 parameters a row plus one a field (21,845 rows for
    # one field), but sends 1 + 2 a field: 13,200 rows of 2 fields are one batch of 66,000
    # parameters, which the backend binds client-side. (A real update of 21,846 rows takes
    # minutes: its CASE has a branch per row, tried for every row.)
    pk, slug = Tag._meta.pk, Tag._meta.get_field("slug")
    assert connection.ops.bulk_batch_size([pk, pk, slug], range(30_000)) == 21_845
    tags = Tag.objects.bulk_create(_tags(13_200))
    for tag in tags:
        tag.name, tag.slug = f"n{tag.name}", f"new-{tag.name}"
    with CaptureQueriesContext(connection) as queries:
        updated = Tag.objects.bulk_update(tags, ["name", "slug"])
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "catalog_tag"')]
    assert (len(updates), updated) == (1, 13_200)
    assert Tag.objects.filter(slug__startswith="new-t", name__startswith="nt").count() == 13_200
    assert Tag.objects.values_list("name", "slug").get(pk=tags[-1].pk) == ("nt13199", "new-t13199")


def test_an_in_of_more_ids_than_one_statement_carries_is_bound_client_side():
    tags = Tag.objects.bulk_create(_tags(3))
    ids = [tag.pk for tag in tags] + list(range(-MAX_QUERY_PARAMS - 10, 0))
    assert len(ids) > MAX_QUERY_PARAMS
    assert Tag.objects.filter(pk__in=ids).count() == 3
    assert sorted(Tag.objects.in_bulk(ids)) == sorted(tag.pk for tag in tags)
    # A value with a % and a quote is written in escaped, never as SQL.
    assert Tag.objects.filter(name__in=["it's 100%", *map(str, range(MAX_QUERY_PARAMS))]).count() == 0


def test_a_statement_within_the_bound_is_still_bound_server_side():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
        assert type(cursor.cursor).__name__ == "ServerBindingCursor"
        assert type(cursor.cursor).__module__ == "marketplace.db.postgresql.base"


def test_a_bounded_stock_lock_wait_is_set_without_a_parameter(bound_server_side, settings, monkeypatch):
    # SET takes no bound parameter ("syntax error at or near $1" with server-side binding): the
    # stock service writes its bound into the statement.
    from catalog.services import stock

    settings.DB_LOCK_TIMEOUT_MS = 0
    settings.STOCK_LOCK_TIMEOUT_MS = 1234
    monkeypatch.setattr(stock, "connection", bound_server_side)  # its .cursor() as Django's
    with bound_server_side.cursor() as cursor:
        cursor.execute("BEGIN")
        stock._set_lock_timeout()
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("1234ms",)
        cursor.execute("ROLLBACK")
