"""Finance's page of a period in the admin (settlements.admin.finance_dashboard): the period's
runs, statements by state, payouts by state and the movements the ledger is missing, exact;
the period by default and a bad one (400, nothing read); who may open it; a constant number of
queries."""

from __future__ import annotations

import re
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from settlements import selectors, services
from settlements.models import Statement
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db

URL = "/admin/dashboards/finance/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def staff(group: str | None = None, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _text(body: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">(.*?)<', body, re.S).group(1).strip()


def _october(count=3):
    """Three shops' October statements (¥103, ¥198, ¥293): two approved and sent to the bank,
    one paid and one failed; the third left to review."""
    shops = [Shop() for _ in range(count)]
    for n, shop in enumerate(shops):
        shop.completed_order([("100.00", n + 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    approver, payer = staff(email="approver@example.com"), staff(email="payer@example.com")
    statements = list(Statement.objects.order_by("merchant_id"))
    for statement in statements[:2]:
        services.statement_approve(statement=statement, actor=approver)
    batch = services.payout_batch_create(actor=payer)
    first, second = batch.payouts.order_by("id")
    services.payout_mark_paid(payout=first, actor=payer, bank_reference="BANK-1")
    services.payout_mark_failed(payout=second, actor=payer, reason="Account closed")
    return shops


def test_the_period_page_is_exact(client):
    _october()
    client.force_login(staff(FINANCE))
    body = client.get(URL + "?period=2026-10", **EN).content.decode()
    assert (_text(body, "statements-draft"), _text(body, "statements-approved"), _text(body, "statements-paid")) == (
        "1",
        "1",
        "1",
    )
    assert "¥293.00" in body and "¥103.00" in body and "¥198.00" in body
    assert (_text(body, "payouts-pending"), _text(body, "payouts-paid"), _text(body, "payouts-failed")) == (
        "0",
        "1",
        "1",
    )
    assert 'id="finance-statements"' in body and 'id="finance-payouts"' in body
    assert "/admin/settlements/statement/?period=2026-10&amp;status__exact=draft" in body
    assert "/admin/settlements/statement/reconciliation/?period=2026-10" in body
    assert "2026-10 #" in body  # the run


def test_the_movements_without_their_entry_are_counted_until_posted():
    _october()
    summary = selectors.finance_period_summary(period="2026-10")
    unposted = {row.key: row.count for row in summary.unposted}
    assert set(unposted) == {"payments", "refunds", "deposits", "payouts_sent", "payout_failures"}
    call_command("verify_ledger", stdout=StringIO())  # posts what is missing
    summary = selectors.finance_period_summary(period="2026-10")
    assert [(row.key, row.count, str(row.amount)) for row in summary.unposted] == [
        ("payments", 0, "0.00"),
        ("refunds", 0, "0.00"),
        ("deposits", 0, "0.00"),
        ("payouts_sent", 0, "0.00"),
        ("payout_failures", 0, "0.00"),
    ]
    assert summary.differences == 0


def test_another_period_is_empty(client):
    _october(count=2)
    client.force_login(staff(FINANCE))
    body = client.get(URL + "?period=2026-11", **EN).content.decode()
    assert 'id="runs-empty"' in body
    assert _text(body, "statements-approved") == "0"
    assert "finance-statements" not in body


def test_the_default_period_is_the_last_one_ended(client):
    client.force_login(staff(FINANCE))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 7, 10, 0)):
        assert selectors.dashboard_period() == "2026-11"
    with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 3, 10, 0)):
        assert selectors.dashboard_period() == "2026-12"
    response = client.get(URL, **EN)
    assert response.status_code == 200
    assert f"<strong>{selectors.dashboard_period()}</strong>" in response.content.decode()


@pytest.mark.parametrize("period", ["2026-13", "october", "2026-1", ""])
def test_a_bad_period_is_a_400_with_the_forms_words(client, period):
    client.force_login(staff(FINANCE))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"period": period}, **EN)
    assert response.status_code == 400
    body = response.content.decode()
    assert "A period looks like 2026-10." in body or "This field is required." in body
    assert not any("settlements_statement" in q["sql"] for q in queries)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("buyer", 302),
        ("merchant", 302),
        (REVIEWER, 403),
        (OPERATIONS, 403),
        ("no_group", 403),
        (FINANCE, 200),
        ("superuser", 200),
    ],
)
def test_who_may_open_it(client, who, status):
    users = {
        "buyer": lambda: UserFactory(),
        "merchant": lambda: Shop().merchant.owner,
        "no_group": lambda: staff(),
        "superuser": lambda: staff(is_superuser=True),
    }
    if who != "anonymous":
        client.force_login(users.get(who, lambda: staff(who))())
    response = client.get(URL, **EN)
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/admin/login/")


def test_the_page_reads_a_constant_number_of_queries(client):
    client.force_login(staff(FINANCE))
    client.get(URL + "?period=2026-10", **EN)
    with CaptureQueriesContext(connection) as empty:
        client.get(URL + "?period=2026-10", **EN)
    _october(count=4)
    with CaptureQueriesContext(connection) as full:
        body = client.get(URL + "?period=2026-10", **EN).content.decode()
    assert _text(body, "statements-draft") == "2"
    assert len(full) == len(empty)
