"""The settlements API: runs, statements and payout batches for finance staff; a merchant's
own statements for its owner and finance members."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from marketplace.roles import FINANCE, ROLE_PERMISSIONS
from merchants.models import MerchantMember
from settlements.models import JournalEntry, Payout, PayoutBatch, SettlementRun, Statement
from tests.factories import UserFactory
from tests.settlements.test_admin import AFTER_OCTOBER, World, approve, finance, staff, state
from tests.settlements.test_runs import Shop, at

pytestmark = pytest.mark.django_db

API = "/api/v1/settlements"


def member(shop: Shop, role: str):
    user = UserFactory()
    MerchantMember.objects.create(merchant=shop.merchant, user=user, role=role)
    return user


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def world() -> World:
    return World(dispute=True)


# --- Who may call what ---------------------------------------------------------------------------


def test_finance_endpoints_permission_matrix(api_client, world):
    batch_pk = PayoutBatch.objects.create(reference="PB1", created_by=staff()).pk
    reads = [
        f"{API}/runs/",
        f"{API}/runs/{world.run.pk}/",
        f"{API}/payout-batches/",
        f"{API}/payout-batches/{batch_pk}/",
    ]
    writes = [(f"{API}/runs/", {"period": "2026-10"}), (f"{API}/payout-batches/", {})]
    before = state()
    assert [error(api_client.get(u)) for u in reads] == [(401, "not_authenticated")] * 4
    assert [error(api_client.post(u, d, format="json")) for u, d in writes] == [(401, "not_authenticated")] * 2
    others = [UserFactory(), world.a.merchant.owner, member(world.a, "finance"), member(world.b, "orders")]
    for user in others:
        as_user(api_client, user)
        assert [error(api_client.get(u)) for u in reads] == [(404, "not_found")] * 4
        assert [error(api_client.post(u, d, format="json")) for u, d in writes] == [(404, "not_found")] * 2
    as_user(api_client, staff())  # staff without the finance permissions
    assert [error(api_client.get(u)) for u in reads] == [(403, "permission_denied")] * 4
    assert [error(api_client.post(u, d, format="json")) for u, d in writes] == [(403, "permission_denied")] * 2
    # Reading is not enough to start a run or create a batch.
    readers = staff(perms=["settlements.view_settlementrun", "settlements.view_payoutbatch"])
    as_user(api_client, readers)
    assert [api_client.get(u).status_code for u in reads] == [200] * 4
    assert [error(api_client.post(u, d, format="json")) for u, d in writes] == [(403, "permission_denied")] * 2
    assert state() == before
    as_user(api_client, finance())
    assert [api_client.get(u).status_code for u in reads] == [200] * 4


def test_statement_permission_matrix(api_client, world):
    approve(world.sa, staff())
    a, b = world.sa.pk, world.sb.pk  # A approved, B still to review
    assert error(api_client.get(f"{API}/statements/")) == (401, "not_authenticated")
    as_user(api_client, finance())
    assert ids(api_client.get(f"{API}/statements/")) == [a, b]
    assert api_client.get(f"{API}/statements/{b}/").status_code == 200
    # The owner and a finance member of A: A's statement only; B's is not found.
    for user in (world.a.merchant.owner, member(world.a, "finance")):
        as_user(api_client, user)
        assert ids(api_client.get(f"{API}/statements/")) == [a]
        assert ids(api_client.get(f"{API}/statements/", {"merchant": world.b.merchant.pk})) == []
        assert api_client.get(f"{API}/statements/{a}/").status_code == 200
        assert error(api_client.get(f"{API}/statements/{b}/")) == (404, "not_found")
    # B's owner: its statement is still to review, internal to finance until approved.
    as_user(api_client, world.b.merchant.owner)
    assert ids(api_client.get(f"{API}/statements/")) == []
    assert error(api_client.get(f"{API}/statements/{b}/")) == (404, "not_found")
    approve(world.sb, staff())
    assert ids(api_client.get(f"{API}/statements/")) == [b]
    # Members whose role does not cover statements, and buyers: nothing here.
    for user in (member(world.a, "orders"), member(world.a, "catalog"), UserFactory()):
        as_user(api_client, user)
        assert error(api_client.get(f"{API}/statements/")) == (404, "not_found")
        assert error(api_client.get(f"{API}/statements/{a}/")) == (404, "not_found")
    as_user(api_client, staff())
    assert error(api_client.get(f"{API}/statements/")) == (403, "permission_denied")
    assert error(api_client.get(f"{API}/statements/{a}/")) == (403, "permission_denied")
    as_user(api_client, finance())
    assert api_client.get(f"{API}/statements/abc/").status_code == 404  # no such URL


# --- Runs ----------------------------------------------------------------------------------------


def test_start_a_run_refused_before_the_period_ends(api_client):
    Shop().completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    as_user(api_client, finance())
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 31, 23, 59)):
        response = api_client.post(f"{API}/runs/", {"period": "2026-10"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert response.json() == {
        "code": "period_not_ended",
        "message": "2026-10 has not ended yet; it can be settled from 2026-11-01.",
        "extra": {},
    }
    assert error(api_client.post(f"{API}/runs/", {"period": "10/2026"}, format="json")) == (400, "invalid_period")
    assert error(api_client.post(f"{API}/runs/", {}, format="json")) == (400, "validation_error")
    assert SettlementRun.objects.count() == 0


def test_start_a_run_answers_202_and_its_progress_is_followed(api_client, django_capture_on_commit_callbacks):
    World(settle=False)
    user = finance()
    as_user(api_client, user)
    with (
        mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = api_client.post(f"{API}/runs/", {"period": "2026-10"}, format="json")
    assert response.status_code == 202
    run = SettlementRun.objects.get()
    body = response.json()
    assert {k: body[k] for k in ("id", "period", "status", "merchants_total", "batches_total", "batches_done")} == {
        "id": run.pk,
        "period": "2026-10",
        "status": "running",
        "merchants_total": 2,
        "batches_total": 1,
        "batches_done": 0,
    }
    assert body["progress"] == 0
    assert len(callbacks) == 1
    assert run.started_by == user
    detail = api_client.get(f"{API}/runs/{run.pk}/").json()
    assert {k: detail[k] for k in ("status", "batches_done", "merchants_done", "statements_created", "progress")} == {
        "status": "completed",
        "batches_done": 1,
        "merchants_done": 2,
        "statements_created": 2,
        "progress": 100,
    }
    assert detail["failures"] == []
    assert ids(api_client.get(f"{API}/runs/")) == [run.pk]


# --- Statements ----------------------------------------------------------------------------------


def test_statement_detail_lists_lines_in_order_and_frozen_orders(api_client, world):
    approve(world.sa, staff())
    as_user(api_client, world.a.merchant.owner)
    body = api_client.get(f"{API}/statements/{world.sa.pk}/").json()
    assert {k: body[k] for k in ("merchant", "period", "status", "payable", "run")} == {
        "merchant": world.a.merchant.pk,
        "period": "2026-10",
        "status": "approved",
        "payable": "103.00",
        "run": world.run.pk,
    }
    assert [(line["kind"], line["amount"], line["count"]) for line in body["lines"]] == [
        ("goods", "100.00", 1),
        ("platform_discounts", "0.00", 1),
        ("shipping", "8.00", 1),
        ("commission", "-5.00", 1),
    ]
    assert body["frozen_orders"] == [
        {"merchant_order": world.held.pk, "number": world.held.number, "amount": "58.00", "reason": "open dispute"}
    ]
    assert body["adjustments"] == []


def test_statement_filters(api_client, world):
    approve(world.sb, staff())
    as_user(api_client, finance())
    assert ids(api_client.get(f"{API}/statements/", {"status": "approved"})) == [world.sb.pk]
    assert ids(api_client.get(f"{API}/statements/", {"merchant": world.a.merchant.pk})) == [world.sa.pk]
    assert ids(api_client.get(f"{API}/statements/", {"period": "2026-09"})) == []
    assert ids(api_client.get(f"{API}/statements/", {"period": "2026-10"})) == [world.sa.pk, world.sb.pk]
    assert error(api_client.get(f"{API}/statements/", {"status": "nope"})) == (400, "validation_error")


def test_approve_posts_the_ledger_once(api_client, world):
    url = f"{API}/statements/{world.sa.pk}/approve/"
    before = state()
    for user in (world.a.merchant.owner, member(world.b, "finance")):  # a draft; another merchant's
        as_user(api_client, user)
        assert error(api_client.post(url)) == (404, "not_found")
    as_user(api_client, staff(perms=["settlements.view_statement"]))
    assert error(api_client.post(url)) == (403, "permission_denied")
    assert state() == before

    user = finance()
    as_user(api_client, user)
    response = api_client.post(url)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["payable"]) == ("approved", "103.00")
    assert response.json()["approved_at"] is not None
    statement = Statement.objects.get(pk=world.sa.pk)
    assert (statement.status, statement.approved_by) == ("approved", user)
    assert list(JournalEntry.objects.values_list("key", flat=True)) == [f"statement:{statement.pk}"]
    before = state()
    assert error(api_client.post(url)) == (409, "invalid_transition")
    as_user(api_client, world.a.merchant.owner)  # now reads the statement; still may not approve it
    assert error(api_client.post(url)) == (403, "permission_denied")
    assert state() == before


# --- Payout batches -------------------------------------------------------------------------------


def test_payout_batches_create_list_and_detail(api_client, world):
    user = finance()
    as_user(api_client, user)
    assert error(api_client.post(f"{API}/payout-batches/", {}, format="json")) == (409, "nothing_to_pay")
    approve(world.sa, staff())
    approve(world.sb, staff())
    response = api_client.post(f"{API}/payout-batches/", {"statements": [world.sb.pk]}, format="json")
    assert response.status_code == 201
    body = response.json()
    batch = PayoutBatch.objects.get()
    payout = Payout.objects.get()
    assert {k: body[k] for k in ("id", "reference", "payout_count", "pending_count", "total", "exported_at")} == {
        "id": batch.pk,
        "reference": batch.reference,
        "payout_count": 1,
        "pending_count": 1,
        "total": "198.00",
        "exported_at": None,
    }
    assert body["payouts"] == [
        {
            "id": payout.pk,
            "reference": payout.reference,
            "statement": world.sb.pk,
            "merchant": world.b.merchant.pk,
            "period": "2026-10",
            "amount": "198.00",
            "status": "pending",
            "bank_reference": "",
            "failure_reason": "",
            "marked_at": None,
        }
    ]
    assert batch.created_by == user
    second = api_client.post(f"{API}/payout-batches/", {}, format="json").json()
    assert [p["statement"] for p in second["payouts"]] == [world.sa.pk]
    assert ids(api_client.get(f"{API}/payout-batches/")) == [second["id"], batch.pk]
    assert api_client.get(f"{API}/payout-batches/{batch.pk}/").json()["payouts"][0]["amount"] == "198.00"
    assert error(api_client.post(f"{API}/payout-batches/", {"statements": []}, format="json")) == (
        400,
        "validation_error",
    )
    assert error(api_client.get(f"{API}/payout-batches/999999/")) == (404, "not_found")
    assert Decimal(sum(Payout.objects.values_list("amount", flat=True))) == Decimal("301.00")


def test_finance_group_permissions_cover_the_api():
    needed = {
        "settlements.view_settlementrun",
        "settlements.add_settlementrun",
        "settlements.view_statement",
        "settlements.change_statement",
        "settlements.view_payoutbatch",
        "settlements.add_payoutbatch",
    }
    assert needed <= set(ROLE_PERMISSIONS[FINANCE])
