"""The orders' staff side in the Django admin: read-only orders and money, and the dispute
queue with its arbitration action."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from marketplace.models import AuditLogEntry
from orders import services
from orders.models import Dispute, MerchantOrder, Refund
from tests.factories import UserFactory
from tests.orders.test_portal_orders import World, build_world, order_state, pay, place, ship

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def world() -> World:
    return build_world()


def staff(*groups: str, perms: tuple[str, ...] = ()):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def url(name: str, *args) -> str:
    return reverse(f"admin:orders_{name}", args=args)


def open_dispute(order: MerchantOrder, buyer, *, amount="150.00") -> Dispute:
    """A shipped order whose ¥`amount` refund request the merchant rejected and the buyer escalated."""
    order = ship(order) if order.status == "paid" else order
    request = services.after_sales_request_create(
        order=order, buyer=buyer, kind="refund", reason="Arrived broken", items=[(order.lines.get().pk, 1, amount)]
    )
    services.after_sales_reject(
        request=request,
        merchant=request.merchant_order.merchant,
        actor=order.merchant.owner,
        note="It was fine when it left",
    )
    return services.after_sales_escalate(
        request=request, buyer=buyer, statement="Photos attached: the glass is cracked"
    )


def dispute_state(dispute: Dispute) -> list:
    dispute.refresh_from_db()
    order = dispute.request.merchant_order
    return [
        (dispute.status, dispute.decision_amount, dispute.decision_note, dispute.arbiter_id),
        MerchantOrder.objects.filter(pk=order.pk).values_list("is_frozen", "after_sales_open").get(),
        Refund.objects.count(),
        order_state(order),
    ]


# --- The dispute queue and page -------------------------------------------------------------


def test_the_queue_shows_open_disputes_oldest_first(client, world):
    older = open_dispute(world.mine, world.buyer)
    second = pay(place(world.other_buyer, (world.cable, 1))).merchant_orders.get()
    newer = open_dispute(second, world.other_buyer, amount="35.50")
    decided_order = pay(place(world.other_buyer, (world.mug, 1))).merchant_orders.get()
    decided = open_dispute(decided_order, world.other_buyer, amount="20.00")
    Dispute.objects.filter(pk=older.pk).update(opened_at=timezone.now() - datetime.timedelta(days=2))
    Dispute.objects.filter(pk=decided.pk).update(opened_at=timezone.now() - datetime.timedelta(days=5))
    services.dispute_resolve(dispute=decided, arbiter=UserFactory(is_staff=True), amount=Decimal("0"), note="No proof")

    client.force_login(staff("operations"))
    response = client.get(url("dispute_changelist"))
    assert response.status_code == 200
    assert [d.pk for d in response.context["cl"].result_list] == [older.pk, newer.pk, decided.pk]
    assert [d.pk for d in client.get(url("dispute_changelist") + "?status__exact=open").context["cl"].result_list] == [
        older.pk,
        newer.pk,
    ]


def test_the_case_page_shows_both_sides_and_the_amounts(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    client.force_login(staff("operations"))
    page = client.get(url("dispute_change", dispute.pk)).content.decode()
    for text in (
        "Arrived broken",
        "It was fine when it left",
        "Photos attached: the glass is cracked",
        "¥150.00",  # asked
        "¥399.98",  # paid for the line
        world.mine.number,
        url("dispute_arbitrate", dispute.pk),
    ):
        assert text in page, text


# --- Arbitration -----------------------------------------------------------------------------


def test_arbitration_refunds_and_unfreezes(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    world.mine.refresh_from_db()
    assert (world.mine.is_frozen, world.mine.after_sales_open) == (True, True)
    arbiter = staff("operations")
    client.force_login(arbiter)
    form = client.get(url("dispute_arbitrate", dispute.pk))
    assert form.status_code == 200
    assert form.context["form"].fields["amount"].initial == Decimal("150.00")
    # The arbiter decides on the case shown above the form: amounts, lines, both statements.
    page = form.content.decode()
    for text in ("¥150.00", "¥399.98", "Arrived broken", "It was fine when it left", "The decision is final."):
        assert page.index(text) < page.index('<form method="post"'), text

    response = client.post(url("dispute_arbitrate", dispute.pk), {"amount": "80.00", "note": "Half the damage shown"})
    assert response.status_code == 302
    assert response["Location"] == url("dispute_change", dispute.pk)
    assert messages_of(response) == [
        ("success", "Decided: ¥80.00 is refunded to the buyer; the order's money is no longer frozen.")
    ]
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decision_amount, dispute.decision_note, dispute.arbiter) == (
        "resolved",
        Decimal("80.00"),
        "Half the damage shown",
        arbiter,
    )
    refund = Refund.objects.get()
    assert (refund.merchant_order_id, refund.amount, refund.reference) == (
        world.mine.pk,
        Decimal("80.00"),
        f"as{dispute.request_id}",
    )
    line = world.mine.lines.get()
    assert line.refunded == Decimal("80.00")
    world.mine.refresh_from_db()
    assert (world.mine.is_frozen, world.mine.after_sales_open) == (False, False)
    assert dispute.request.__class__.objects.get(pk=dispute.request_id).status == "refunded"
    entry = AuditLogEntry.objects.filter(action="orders.dispute_resolved").get()
    assert (entry.actor, entry.reason) == (arbiter, "Half the damage shown")


def test_a_zero_decision_closes_the_request_without_refund(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    client.force_login(staff("operations"))
    client.post(url("dispute_arbitrate", dispute.pk), {"amount": "0", "note": "The photos show older damage"})
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decision_amount, Refund.objects.count()) == ("resolved", Decimal("0.00"), 0)
    assert MerchantOrder.objects.filter(pk=world.mine.pk).values_list("is_frozen", flat=True).get() is False
    assert dispute.request.__class__.objects.get(pk=dispute.request_id).status == "closed"


def test_arbitration_refuses_bad_input_and_changes_nothing(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    client.force_login(staff("operations"))
    before = dispute_state(dispute)
    cases = [
        ({"amount": "150.01", "note": "Too much"}, {"amount": ["Ensure this value is less than or equal to 150.00."]}),
        ({"amount": "-1", "note": "Negative"}, {"amount": ["Ensure this value is greater than or equal to 0."]}),
        ({"amount": "10.00", "note": ""}, {"note": ["This field is required."]}),
    ]
    for data, errors in cases:
        response = client.post(url("dispute_arbitrate", dispute.pk), data)
        assert response.status_code == 200
        assert response.context["form"].errors == errors
    # The service's own refusal shows on the form too (a note of blanks passes the form).
    response = client.post(url("dispute_arbitrate", dispute.pk), {"amount": "10.00", "note": "   "})
    assert response.context["form"].errors == {"note": ["This field is required."]}
    assert dispute_state(dispute) == before


def test_arbitration_needs_the_change_permission(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    before = dispute_state(dispute)
    looker = staff(perms=("orders.view_dispute",))
    client.force_login(looker)
    assert client.get(url("dispute_change", dispute.pk)).status_code == 200
    assert url("dispute_arbitrate", dispute.pk) not in client.get(url("dispute_change", dispute.pk)).content.decode()
    assert client.get(url("dispute_arbitrate", dispute.pk)).status_code == 403
    assert client.post(url("dispute_arbitrate", dispute.pk), {"amount": "1.00", "note": "x"}).status_code == 403
    client.force_login(staff("finance"))
    assert client.post(url("dispute_arbitrate", dispute.pk), {"amount": "1.00", "note": "x"}).status_code == 403
    client.force_login(world.buyer)  # not staff: the admin's login page
    response = client.post(url("dispute_arbitrate", dispute.pk), {"amount": "1.00", "note": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert dispute_state(dispute) == before


def test_a_decided_dispute_cannot_be_decided_again(client, world):
    dispute = open_dispute(world.mine, world.buyer)
    services.dispute_resolve(dispute=dispute, arbiter=UserFactory(is_staff=True), amount=Decimal("5.00"), note="Small")
    client.force_login(staff("operations"))
    before = dispute_state(dispute)
    response = client.post(url("dispute_arbitrate", dispute.pk), {"amount": "150.00", "note": "Again"})
    assert response.status_code == 302
    assert messages_of(response) == [("error", "This dispute is already decided.")]
    assert url("dispute_arbitrate", dispute.pk) not in client.get(url("dispute_change", dispute.pk)).content.decode()
    assert dispute_state(dispute) == before


# --- Read-only orders and money ----------------------------------------------------------------


def test_operations_read_orders_but_change_nothing(client, world):
    client.force_login(staff("operations"))
    page = client.get(url("merchantorder_change", world.mine.pk))
    assert page.status_code == 200
    inlines = {
        formset.opts.model._meta.model_name: [form.original for form in formset]
        for formset in page.context["inline_admin_formsets"]
    }
    assert [(line.sku_code, line.paid, line.commission) for line in inlines["orderline"]] == [
        ("LAMP", Decimal("399.98"), Decimal("20.00"))
    ]
    assert [event.action for event in inlines["orderevent"]] == ["place", "pay"]
    html = page.content.decode()
    assert "WH-EAST" in html  # the parcels
    assert 'name="_save"' not in html
    assert client.get(url("merchantorder_changelist") + "?is_frozen__exact=1").context["cl"].result_count == 0
    assert client.get(url("merchantorder_changelist") + "?status__exact=paid").context["cl"].result_count == 2
    assert client.get(url("buyerorder_change", world.multi.pk)).status_code == 200
    before = order_state(world.mine)
    assert client.get(url("merchantorder_add")).status_code == 403
    assert client.post(url("merchantorder_delete", world.mine.pk), {"post": "yes"}).status_code == 403
    assert client.post(url("merchantorder_change", world.mine.pk), {"status": "cancelled"}).status_code == 403
    assert order_state(world.mine) == before
    for name in ("aftersalesrequest", "review", "complaint", "dispute"):
        assert client.get(url(f"{name}_changelist")).status_code == 200, name
    for name in ("payment", "refund", "gatewayevent"):
        assert client.get(url(f"{name}_changelist")).status_code == 403, name


def test_finance_reads_the_money(client, world):
    client.force_login(staff("finance"))
    for name in ("payment", "refund", "gatewayevent", "merchantorder"):
        assert client.get(url(f"{name}_changelist")).status_code == 200, name
    payment = world.multi.payments.get()
    assert client.get(url("payment_change", payment.pk)).status_code == 200
    assert client.get(url("payment_add")).status_code == 403
    assert client.get(url("dispute_changelist")).status_code == 403
