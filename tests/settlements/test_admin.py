"""Finance's staff side of settlements in the Django admin: runs, statements, adjustments,
payouts, reconciliation and the ledger; who may see and do what."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from marketplace.models import AuditLogEntry
from marketplace.roles import FINANCE, ROLE_PERMISSIONS
from merchants.models import MerchantMember
from orders import services as order_services
from settlements import selectors, services
from settlements.models import (
    Invoice,
    JournalEntry,
    ManualAdjustment,
    Payout,
    PayoutBatch,
    SettledOrder,
    SettlementRun,
    Statement,
    StatementLine,
)
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db

AFTER_OCTOBER = at(2026, 11, 2, 10)


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def staff(*, groups=(), perms=()):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def finance(**kwargs):
    return staff(groups=[FINANCE], **kwargs)


def finance_member(shop: Shop):
    """A merchant member with the finance role: sees statements in the portal, not the admin."""
    user = UserFactory()
    MerchantMember.objects.create(merchant=shop.merchant, user=user, role="finance")
    return user


def messages_of(response) -> list[tuple[str, str]]:
    """The message the response added (earlier ones, never displayed, are still stored)."""
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)][-1:]


def url(name: str, *args) -> str:
    return reverse(f"admin:settlements_{name}", args=args)


class World:
    """Two shops with one completed October order each, and (optionally) a third order of
    shop A held by an open dispute. Settled: A payable ¥103.00, B ¥198.00."""

    def __init__(self, *, dispute=False, settle=True):
        self.a, self.b = Shop(), Shop()
        self.buyer = UserFactory()
        self.order_a = self.a.completed_order(
            [("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2), buyer=self.buyer
        )
        self.order_b = self.b.completed_order([("100.00", 2)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
        self.dispute = None
        if dispute:
            held = self.a.completed_order(
                [("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 3), buyer=self.buyer
            )
            request = order_services.after_sales_request_create(
                order=held, buyer=self.buyer, kind="refund", reason="Broken", items=[(held.lines.get().pk, 1, "50.00")]
            )
            order_services.after_sales_reject(
                request=request,
                merchant=request.merchant_order.merchant,
                actor=self.a.merchant.owner,
                note="It was fine",
            )
            self.dispute = order_services.after_sales_escalate(request=request, buyer=self.buyer, statement="Photos")
            self.held = held
        if settle:
            self.run = _settle("2026-10", now=AFTER_OCTOBER)
            self.sa = Statement.objects.get(merchant=self.a.merchant)
            self.sb = Statement.objects.get(merchant=self.b.merchant)


@pytest.fixture
def world() -> World:
    return World()


def state() -> list:
    """Everything a finance action could change."""
    return [
        SettlementRun.objects.count(),
        list(Statement.objects.order_by("pk").values_list("pk", "status", "approved_by_id", "payable")),
        JournalEntry.objects.count(),
        PayoutBatch.objects.count(),
        list(PayoutBatch.objects.order_by("pk").values_list("exported_at", flat=True)),
        list(Payout.objects.order_by("pk").values_list("status", "bank_reference", "failure_reason")),
        Invoice.objects.count(),
        ManualAdjustment.objects.count(),
        AuditLogEntry.objects.count(),
    ]


def approve(statement, user):
    return services.statement_approve(statement=statement, actor=user)


# --- Who may see what --------------------------------------------------------------------------


def _pages(w: World) -> list[str]:
    approve(w.sb, staff())
    batch = services.payout_batch_create(actor=staff())
    payout = batch.payouts.get()
    entry = JournalEntry.objects.get(statement=w.sb)
    return [
        url("settlementrun_changelist"),
        url("settlementrun_add"),
        url("settlementrun_preview") + "?period=2026-10",
        url("settlementrun_change", w.run.pk),
        url("statement_changelist"),
        url("statement_change", w.sa.pk),
        url("statement_approve", w.sa.pk),
        url("statement_issue_invoice", w.sb.pk),
        url("statement_approve_all") + "?period=2026-10",
        url("statement_reconciliation") + "?period=2026-10",
        url("manualadjustment_changelist"),
        url("manualadjustment_add"),
        url("payoutbatch_changelist"),
        url("payoutbatch_add"),
        url("payoutbatch_change", batch.pk),
        url("payoutbatch_export", batch.pk),
        url("payoutbatch_results", batch.pk),
        url("payout_changelist"),
        url("payout_change", payout.pk),
        url("payout_mark_paid", payout.pk),
        url("payout_mark_failed", payout.pk),
        url("invoice_changelist"),
        url("account_changelist"),
        url("journalentry_changelist"),
        url("journalentry_change", entry.pk),
    ]


def test_every_finance_page_opens_for_finance_only(client, world):
    pages = _pages(world)
    before = state()
    with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
        client.force_login(finance())
        for page in pages:
            assert client.get(page).status_code == 200, page
        # Staff without the finance permissions: refused, whatever the page.
        client.force_login(staff())
        for page in pages:
            assert client.get(page).status_code == 403, page
        # Not staff (buyer, merchant owner, merchant finance member) or signed out: the admin login.
        for user in (UserFactory(), world.a.merchant.owner, finance_member(world.a), None):
            client.logout()
            if user is not None:
                client.force_login(user)
            for page in pages:
                response = client.get(page)
                assert response.status_code == 302, page
                assert response["Location"].startswith("/admin/login/"), page
    assert state() == before  # looking changes nothing (the dry run included)
    assert SettledOrder.objects.count() == 2


def test_the_finance_group_holds_the_settlement_permissions_and_only_it_sees_bank_accounts():
    entries = ROLE_PERMISSIONS[FINANCE]
    for perm in (
        "settlements.view_statement",
        "settlements.change_statement",
        "settlements.add_settlementrun",
        "settlements.add_payoutbatch",
        "settlements.change_payout",
        "settlements.add_invoice",
        "settlements.view_journalentry",
        "merchants.view_bank_account",
    ):
        assert perm in entries
    holders = [name for name, perms in ROLE_PERMISSIONS.items() if "merchants.view_bank_account" in perms]
    assert holders == [FINANCE]


def _actions(w: World) -> list[tuple[str, dict]]:
    approver = staff()
    approve(w.sb, approver)
    batch = services.payout_batch_create(actor=approver)
    payout = batch.payouts.get()
    results = SimpleUploadedFile(
        "r.csv", f"reference,status,bank_reference,reason\n{payout.reference},paid,B1,\n".encode()
    )
    return [
        (url("settlementrun_add"), {"period": "2026-10"}),
        (url("statement_approve", w.sa.pk), {}),
        (url("statement_approve_all"), {"period": "2026-10"}),
        (url("statement_issue_invoice", w.sb.pk), {}),
        (url("manualadjustment_add"), {"merchant": w.a.merchant.pk, "period": "2026-11", "amount": "5", "reason": "x"}),
        (url("payoutbatch_add"), {}),
        (url("payoutbatch_export", batch.pk), {}),
        (url("payoutbatch_results", batch.pk), {"file": results}),
        (url("payout_mark_paid", payout.pk), {"bank_reference": "B1"}),
        (url("payout_mark_failed", payout.pk), {"reason": "Closed"}),
    ]


def test_actions_refused_change_nothing(client, world):
    actions = _actions(world)
    before = state()
    # Staff with only the view permissions of finance: 403 on every action.
    viewer = staff(perms=[p for p in ROLE_PERMISSIONS[FINANCE] if ".view_" in p and p != "merchants.view_bank_account"])
    with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
        for user in (staff(), viewer):
            client.force_login(user)
            for action, data in actions:
                assert client.post(action, data).status_code == 403, action
        for user in (UserFactory(), world.a.merchant.owner, finance_member(world.a), None):
            client.logout()
            if user is not None:
                client.force_login(user)
            for action, data in actions:
                response = client.post(action, data)
                assert (response.status_code, response["Location"][:13]) == (302, "/admin/login/"), action
    assert state() == before


def test_actions_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(finance())
    before = state()
    assert client.post(url("statement_approve", world.sa.pk), {}).status_code == 403
    assert client.post(url("statement_approve_all"), {"period": "2026-10"}).status_code == 403
    assert state() == before


# --- Runs ----------------------------------------------------------------------------------------


def test_start_a_run_refused_before_the_period_ends(client):
    Shop().completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    client.force_login(finance())
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 31, 23, 59)):
        response = client.post(url("settlementrun_add"), {"period": "2026-10"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "period": ["2026-10 has not ended yet; it can be settled from 2026-11-01."]
    }
    assert SettlementRun.objects.count() == 0
    response = client.post(url("settlementrun_add"), {"period": "2026-13"})
    assert response.context["form"].errors == {"period": ["A period looks like 2026-10."]}
    assert SettlementRun.objects.count() == 0


def test_start_a_run_enqueues_its_batches_and_the_page_follows_progress(client, django_capture_on_commit_callbacks):
    World(settle=False)
    user = finance()
    client.force_login(user)
    with (
        mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        response = client.post(url("settlementrun_add"), {"period": "2026-10"})
    run = SettlementRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("settlementrun_change", run.pk)
    assert messages_of(response) == [("success", f"Run {run} started: 2 merchant(s) in 1 batch(es).")]
    assert (run.period, run.status, run.started_by, run.batches_total, run.merchants_total) == (
        "2026-10",
        "running",
        user,
        1,
        2,
    )
    assert len(callbacks) == 1  # one Celery task per batch, sent after commit
    page = client.get(url("settlementrun_change", run.pk)).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "0 / 1 batches · 0 / 2 merchants · 0 failed" in page
    with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
        callbacks[0]()  # the worker (eager in tests) settles the batch
    run.refresh_from_db()
    assert (run.status, run.batches_done, run.merchants_done, run.statements_created) == ("completed", 1, 2, 2)
    page = client.get(url("settlementrun_change", run.pk)).content.decode()
    assert "http-equiv" not in page
    assert "1 / 1 batches · 2 / 2 merchants · 0 failed" in page
    listing = client.get(url("settlementrun_changelist")).content.decode()
    assert "1 / 1 batches · 2 / 2 merchants · 0 failed" in listing


def test_the_run_page_lists_failed_batches(client):
    run = SettlementRun.objects.create(
        period="2026-10",
        status="failed",
        batches_total=2,
        batches_done=2,
        failures=[{"merchants": [3, 9], "error": "deadlock detected"}],
    )
    client.force_login(finance())
    page = client.get(url("settlementrun_change", run.pk)).content.decode()
    assert "<td>3</td><td>9</td><td>deadlock detected</td>" in page
    assert "2 / 2 batches · 0 / 0 merchants · 1 failed" in page


# The dry run (a Celery job since issue #16): tests/settlements/test_dry_runs.py.


# --- Statements ----------------------------------------------------------------------------------


def test_the_statement_list_has_a_totals_row_for_the_filtered_statements(client, world):
    approve(world.sb, staff())
    client.force_login(finance())
    response = client.get(url("statement_changelist"))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (
        "<tbody><tr><td>2</td><td>¥300.00</td><td>¥0.00</td><td>¥16.00</td><td>-¥15.00</td><td>¥301.00</td></tr>"
        in totals
    )
    response = client.get(url("statement_changelist"), {"status__exact": "approved"})
    assert [s.pk for s in response.context["cl"].result_list] == [world.sb.pk]
    assert (
        "<tbody><tr><td>1</td><td>¥200.00</td><td>¥0.00</td><td>¥8.00</td><td>-¥10.00</td><td>¥198.00</td></tr>"
        in (response.context["totals"])
    )
    response = client.get(url("statement_changelist"), {"period__exact": "2026-09"})
    assert "<tbody><tr><td>0</td><td>¥0.00</td></tr>" in response.context["totals"]


def test_the_statement_page_drills_down_to_orders_refunds_frozen_orders_and_the_ledger(client):
    world = World(dispute=True)
    services.adjustment_create(
        merchant=world.a.merchant, period="2026-11", amount="-12.50", reason="Late", actor=staff()
    )
    approve(world.sa, finance())
    client.force_login(finance())
    page = client.get(url("statement_change", world.sa.pk)).content.decode()
    lines = [StatementLine.objects.get(statement=world.sa, kind=k).get_kind_display() for k in ("goods", "shipping")]
    assert page.index(lines[0]) < page.index(lines[1]) < page.index("Commission</td>")
    for text in (
        # The settled order: number, completion, goods, platform discounts, shipping, commission.
        f"{world.order_a.number}</a></td><td>2026-10-02 00:00</td><td>¥100.00</td><td>¥0.00</td><td>¥8.00</td>"
        "<td>-¥5.00</td>",
        # The frozen order (paid ¥58.00) and the dispute holding it.
        f"{world.held.number}</a></td><td>¥58.00</td><td>open dispute</td>",
        f"D{world.dispute.pk}</a> (Open)",
        f"statement:{world.sa.pk}",
        "¥103.00",
    ):
        assert text in page, text
    assert "Late" not in page  # the November adjustment is not settled in October
    # Which orders the statement covers: those completed before its cutoff.
    assert re.search(r"Orders completed before:</label>\s*<div class=\"readonly\">Oct. 17, 2026, midnight</div>", page)


def test_approving_one_statement_posts_the_ledger_once(client, world):
    user = finance()
    client.force_login(user)
    response = client.post(url("statement_approve", world.sa.pk))
    assert response.status_code == 302
    assert response["Location"] == url("statement_change", world.sa.pk)
    assert messages_of(response) == [("success", f"Statement {world.sa} is approved; ¥103.00 is posted to the ledger.")]
    world.sa.refresh_from_db()
    assert (world.sa.status, world.sa.approved_by) == ("approved", user)
    entry = JournalEntry.objects.get()
    assert (entry.key, entry.statement_id, sum(entry.postings.values_list("amount", flat=True))) == (
        f"statement:{world.sa.pk}",
        world.sa.pk,
        0,
    )
    assert selectors.statement_matches_ledger(world.sa)
    before = state()
    response = client.post(url("statement_approve", world.sa.pk))
    assert messages_of(response) == [("error", "Only a statement to review can be approved.")]
    assert state() == before
    # The GET of an action no longer possible leads back to the statement.
    response = client.get(url("statement_approve", world.sa.pk))
    assert response.status_code == 302


def test_approve_all_drafts_of_a_period_or_a_run(client, world):
    client.force_login(finance())
    response = client.get(url("statement_approve_all"), {"run": world.run.pk})
    assert response.context["summary"] == [("Statements to review", 2)]
    approve(world.sa, staff())  # someone approved one meanwhile
    response = client.post(url("statement_approve_all"), {"run": world.run.pk})
    assert response.status_code == 302
    assert messages_of(response) == [("success", "1 statement(s) approved, 0 skipped (no longer to review).")]
    assert list(Statement.objects.order_by("pk").values_list("status", flat=True)) == ["approved", "approved"]
    assert JournalEntry.objects.count() == 2
    before = state()
    response = client.post(url("statement_approve_all"), {"period": ""})
    assert response.context["form"].errors == {"__all__": ["Give the period (or open this page from a run)."]}
    response = client.post(url("statement_approve_all"), {"period": "2026-10"})
    assert messages_of(response) == [("success", "0 statement(s) approved, 0 skipped (no longer to review).")]
    assert state() == before


def test_issue_an_invoice_and_download_its_pdf(client, world):
    client.force_login(finance())
    before = state()
    response = client.get(url("statement_issue_invoice", world.sa.pk))  # a draft is not invoiced
    assert response.status_code == 302
    assert state() == before
    approve(world.sa, staff())
    response = client.post(url("statement_issue_invoice", world.sa.pk))
    invoice = Invoice.objects.get()
    assert messages_of(response) == [("success", f"Invoice {invoice.number} is issued: ¥5.00.")]
    assert (invoice.statement_id, invoice.commission, invoice.total) == (world.sa.pk, Decimal("5.00"), Decimal("5.00"))
    response = client.get(url("statement_invoice_pdf", world.sa.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert client.get(url("statement_invoice_pdf", world.sb.pk)).status_code == 404  # no invoice
    client.force_login(staff(perms=["settlements.view_statement"]))
    assert client.get(url("statement_invoice_pdf", world.sa.pk)).status_code == 403


# --- Manual adjustments ----------------------------------------------------------------------------


def test_a_manual_adjustment_goes_through_the_service(client, world):
    user = finance()
    client.force_login(user)
    data = {"merchant": world.a.merchant.pk, "period": "2026-11", "amount": "-12.50", "reason": "  Damaged display  "}
    response = client.post(url("manualadjustment_add"), data)
    assert response.status_code == 302
    adjustment = ManualAdjustment.objects.get()
    assert (adjustment.merchant, adjustment.period, adjustment.amount, adjustment.reason, adjustment.created_by) == (
        world.a.merchant,
        "2026-11",
        Decimal("-12.50"),
        "Damaged display",
        user,
    )
    assert AuditLogEntry.objects.filter(action="settlements.adjustment_created").count() == 1
    before = state()
    response = client.post(url("manualadjustment_add"), {**data, "amount": "0"})
    assert response.context["form"].errors == {"amount": ["The amount must not be zero."]}
    response = client.post(url("manualadjustment_add"), {**data, "period": "2026-1"})
    assert response.context["form"].errors == {"period": ["A period looks like 2026-10."]}
    assert state() == before
    # The list is read-only.
    assert client.get(url("manualadjustment_change", adjustment.pk)).context["has_change_permission"] is False


# --- Payouts -------------------------------------------------------------------------------------


def _approved_batch(client, approver):
    """Both statements approved by `approver`; a batch created in the admin by `approver`."""
    for statement in Statement.objects.order_by("pk"):
        approve(statement, approver)
    client.force_login(approver)
    response = client.post(url("payoutbatch_add"))
    batch = PayoutBatch.objects.get()
    assert response["Location"] == url("payoutbatch_change", batch.pk)
    return batch


def test_create_a_batch_then_nothing_is_left_to_pay(client, world):
    approver = finance()
    client.force_login(approver)
    response = client.get(url("payoutbatch_add"))
    assert response.context["summary"] == [("Statements waiting to be paid", 0)]
    batch = _approved_batch(client, approver)
    assert list(batch.payouts.order_by("id").values_list("statement_id", "amount", "status")) == [
        (world.sa.pk, Decimal("103.00"), "pending"),
        (world.sb.pk, Decimal("198.00"), "pending"),
    ]
    page = client.get(url("payoutbatch_change", batch.pk)).content.decode()
    assert "¥301.00" in page
    first = batch.payouts.order_by("id").first()
    assert f'<a href="{url("payout_mark_paid", first.pk)}">mark paid</a>' in page
    before = state()
    response = client.post(url("payoutbatch_add"))
    assert response.context["form"].errors == {"__all__": ["No approved statement is waiting to be paid."]}
    assert state() == before


def test_export_the_bank_file_needs_the_bank_account_permission(client, world):
    batch = _approved_batch(client, finance())
    # Every finance permission but the bank accounts: refused, nothing exported.
    no_bank = staff(perms=[p for p in ROLE_PERMISSIONS[FINANCE] if p != "merchants.view_bank_account"])
    client.force_login(no_bank)
    assert client.get(url("payoutbatch_change", batch.pk)).status_code == 200
    before = state()
    assert client.post(url("payoutbatch_export", batch.pk)).status_code == 403
    assert state() == before
    client.force_login(finance())
    response = client.post(url("payoutbatch_export", batch.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{batch.reference}.csv"'
    first, second = batch.payouts.order_by("id")
    a, b = world.a.merchant, world.b.merchant
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["reference", "payee", "bank", "account_number", "amount", "period"],
        [first.reference, a.bank_account_name, a.bank_name, "6222021234567890", "103.00", "2026-10"],
        [second.reference, b.bank_account_name, b.bank_name, "6222021234567890", "198.00", "2026-10"],
    ]
    batch.refresh_from_db()
    assert batch.exported_at is not None
    assert AuditLogEntry.objects.filter(action="settlements.payout_batch_exported").count() == 1


def test_the_approver_cannot_mark_paid_another_finance_user_can(client, world):
    approver = finance()
    batch = _approved_batch(client, approver)
    first, second = batch.payouts.order_by("id")
    before = state()
    response = client.post(url("payout_mark_paid", first.pk), {"bank_reference": "BANK-1"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "__all__": ["You approved this statement, so someone else must confirm its payment."]
    }
    assert state() == before
    payer = finance()
    client.force_login(payer)
    response = client.post(url("payout_mark_paid", first.pk), {"bank_reference": "BANK-1"})
    assert response["Location"] == url("payout_change", first.pk)
    assert messages_of(response) == [("success", f"Payout {first.reference} is paid (¥103.00).")]
    first.refresh_from_db()
    assert (first.status, first.bank_reference, first.marked_by) == ("paid", "BANK-1", payer)
    assert Statement.objects.get(pk=world.sa.pk).status == "paid"
    assert JournalEntry.objects.filter(key=f"payout:{first.reference}").count() == 1

    # A failed payout stays owed: the statement remains approved and goes in the next batch.
    response = client.post(url("payout_mark_failed", second.pk), {"reason": ""})
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    response = client.post(url("payout_mark_failed", second.pk), {"reason": "Account closed"})
    assert messages_of(response) == [
        ("success", f"Payout {second.reference} failed; the statement stays owed for a later batch.")
    ]
    second.refresh_from_db()
    assert (second.status, second.failure_reason) == ("failed", "Account closed")
    assert Statement.objects.get(pk=world.sb.pk).status == "approved"
    response = client.get(url("payoutbatch_add"))
    assert response.context["summary"] == [("Statements waiting to be paid", 1)]
    client.post(url("payoutbatch_add"))
    retry = PayoutBatch.objects.order_by("-id").first()
    assert list(retry.payouts.values_list("statement_id", "amount")) == [(world.sb.pk, Decimal("198.00"))]


def test_the_bank_result_file_is_all_or_nothing(client, world):
    batch = _approved_batch(client, finance())
    first, second = batch.payouts.order_by("id")
    client.force_login(finance())
    bad = f"reference,status,bank_reference,reason\n{first.reference},paid,B1,\n{second.reference},failed,,\nNOPE,paid,,\n"
    before = state()
    response = client.post(url("payoutbatch_results", batch.pk), {"file": SimpleUploadedFile("r.csv", bad.encode())})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "__all__": [
            "line 3: a failed payment needs a reason",
            "line 4: unknown reference NOPE",
            "Nothing was applied.",
        ]
    }
    assert state() == before
    # Files that cannot be read are refused on the file field, and change nothing either.
    unreadable = [
        (
            b"reference;bank_reference\nX;1\n",
            "The first line must name the columns reference, status; missing: status.",
        ),
        (b"reference,status\n", "The file has no rows below the column names."),
        (
            "référence,status\nX,paid\n".encode("gbk"),
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”.",
        ),
    ]
    for content, error in unreadable:
        response = client.post(url("payoutbatch_results", batch.pk), {"file": SimpleUploadedFile("r.csv", content)})
        assert response.status_code == 200
        assert response.context["form"].errors == {"file": [error]}
    assert state() == before
    # Excel's semicolons, a byte order mark, upper-case names, a blank line: all read.
    good = f"\ufeffReference;Status;Bank_reference;Reason\n{first.reference};paid;B1;\n\n{second.reference};failed;;Wrong name\n"
    response = client.post(url("payoutbatch_results", batch.pk), {"file": SimpleUploadedFile("r.csv", good.encode())})
    assert messages_of(response) == [("success", "2 payout(s) marked from the bank's file.")]
    assert list(batch.payouts.order_by("id").values_list("status", flat=True)) == ["paid", "failed"]
    # Nothing left at the bank: no more upload button, and the GET leads back to the batch.
    assert client.get(url("payoutbatch_results", batch.pk)).status_code == 302


# --- Reconciliation and ledger -------------------------------------------------------------------


def test_reconciliation_page_with_and_without_differences(client):
    world = World()
    approve(world.sa, staff())
    services.ledger_post_pending()  # the captures and deposits, as the beat posts them
    client.force_login(finance())
    response = client.get(url("statement_reconciliation"), {"period": "2026-10"})
    assert response.status_code == 200
    assert response.context["report"].ok
    html = response.content.decode()
    assert "2026-10: no differences." in html
    assert "<th>Captured by the gateway</th><td>¥316.00</td>" in html  # 108.00 + 208.00
    Statement.objects.filter(pk=world.sa.pk).update(payable=Decimal("1.00"))
    html = client.get(url("statement_reconciliation"), {"period": "2026-10"}).content.decode()
    assert "2026-10: differences found, listed below." in html
    assert f"<td>{world.a.merchant.pk}</td><td>¥1.00</td><td>¥103.00</td>" in html
    response = client.get(url("statement_reconciliation"), {"period": "October"})
    assert response.context["form"].errors == {"period": ["A period looks like 2026-10."]}


def test_ledger_admins_are_read_only_with_balances_and_postings(client, world):
    approve(world.sa, staff())
    client.force_login(finance())
    response = client.get(url("account_changelist"))
    balances = {a.kind: a.balance for a in response.context["cl"].result_list}
    assert balances == {
        "merchant_payable": Decimal("-103.00"),
        "commission_revenue": Decimal("-5.00"),
        "gateway_clearing": Decimal("108.00"),
        "promotion_expense": Decimal("0.00"),
        "rebate_expense": Decimal("0.00"),
        "adjustment_expense": Decimal("0.00"),
    }
    entry = JournalEntry.objects.get()
    response = client.get(url("journalentry_change", entry.pk))
    assert response.status_code == 200
    postings = response.context["inline_admin_formsets"][0].formset.queryset
    assert sorted(postings.values_list("amount", flat=True)) == [
        Decimal("-103.00"),
        Decimal("-5.00"),
        Decimal("108.00"),
    ]
    assert client.get(url("journalentry_add")).status_code == 403
    assert client.get(url("account_add")).status_code == 403
    assert client.post(url("journalentry_delete", entry.pk)).status_code == 403
    assert JournalEntry.objects.count() == 1
