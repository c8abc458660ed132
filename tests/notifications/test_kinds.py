"""Each kind is raised by the real service that causes it, after its change, to exactly the
people it concerns: the buyer; the merchant's members whose role handles it (the owner always);
the staff whose role may act on the queue."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Group

from catalog import services as catalog_services
from merchants.models import MerchantMember
from notifications.models import Notification
from orders import services as order_services
from settlements import services as settlement_services
from settlements.choices import ProgrammeKind
from settlements.models import Statement
from settlements.services import subsidies
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.notifications.helpers import members, paid_order
from tests.settlements.charges_defaults import ensure_charge_defaults
from tests.settlements.test_runs import Shop, _settle, at
from tests.settlements.test_subsidy_grants import apply, approve, grant_programme

pytestmark = pytest.mark.django_db


def rows(kind):
    return [(n.user_id, n.params, n.link) for n in Notification.objects.filter(kind=kind).order_by("user_id")]


def staff(*groups, superuser=False):
    user = UserFactory(is_staff=True, is_superuser=superuser)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def test_payment_tells_the_buyer_and_the_order_members_of_each_shop():
    order, buyer, merchant, team = paid_order(ship=False)
    buyer_order = order.buyer_order
    assert rows("order_paid") == [
        (
            buyer.pk,
            {"order": buyer_order.number, "total": str(buyer_order.payable_total)},
            f"/orders/{buyer_order.number}/",
        )
    ]
    # The owner and the orders member; not the catalog or finance members.
    assert rows("new_order") == [
        (uid, {"order": order.number, "total": str(order.paid_total)}, f"/portal/orders/{order.pk}/")
        for uid in sorted([merchant.owner_id, team["orders"].pk])
    ]


def test_shipping_tells_the_buyer_with_the_tracking():
    order, buyer, _merchant, _team = paid_order(ship=True)
    assert rows("order_shipped") == [
        (
            buyer.pk,
            {"order": order.number, "carrier": "SF", "tracking": "SF1"},
            f"/orders/{order.buyer_order.number}/",
        )
    ]


def _request(order, buyer):
    line = order.lines.first()
    return order_services.after_sales_request_create(
        order=order, buyer=buyer, kind="refund", reason="Cracked", items=[(line.pk, 1, Decimal("10.00"))]
    )


def test_an_after_sales_request_tells_the_order_members_its_deadline():
    order, buyer, merchant, team = paid_order(ship=True)
    request = _request(order, buyer)
    expected = {"order": order.number, "request": request.pk, "deadline": request.respond_by.isoformat()}
    assert rows("after_sales_requested") == [
        (uid, expected, f"/portal/orders/after-sales/{request.pk}/")
        for uid in sorted([merchant.owner_id, team["orders"].pk])
    ]


def test_accepting_tells_the_buyer_the_decision_and_the_refund():
    order, buyer, merchant, _team = paid_order(ship=True)
    request = _request(order, buyer)
    order_services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner, note="Sorry")
    link = f"/orders/{order.buyer_order.number}/"
    assert rows("after_sales_decided") == [
        (buyer.pk, {"order": order.number, "request": request.pk, "outcome": "accepted", "note": "Sorry"}, link)
    ]
    assert rows("refund_issued") == [(buyer.pk, {"order": order.number, "amount": "10.00"}, link)]


def test_refusing_then_escalating_tells_the_buyer_the_shop_and_the_arbiters():
    order, buyer, merchant, team = paid_order(ship=True)
    request = _request(order, buyer)
    order_services.after_sales_reject(request=request, merchant=merchant, actor=merchant.owner, note="Used.")
    assert rows("after_sales_decided") == [
        (
            buyer.pk,
            {"order": order.number, "request": request.pk, "outcome": "refused", "note": "Used."},
            f"/orders/{order.buyer_order.number}/",
        )
    ]
    operations, superuser = staff("operations"), staff(superuser=True)
    staff("reviewer"), staff("finance"), UserFactory(is_staff=True)  # may not resolve disputes
    dispute = order_services.after_sales_escalate(request=request, buyer=buyer, statement="It was new.")
    assert rows("dispute_opened") == [
        (uid, {"order": order.number, "request": request.pk}, f"/portal/orders/after-sales/{request.pk}/")
        for uid in sorted([merchant.owner_id, team["orders"].pk])
    ]
    assert rows("dispute_to_arbitrate") == [
        (uid, {"order": order.number, "dispute": dispute.pk}, f"/admin/orders/dispute/{dispute.pk}/change/")
        for uid in sorted([operations.pk, superuser.pk])
    ]


def test_low_stock_tells_the_catalog_members_once_per_alert():
    merchant, (cat,) = live_merchant()
    team = members(merchant)
    item = product(merchant, cat, title="Desk lamp", skus=[{"code": "LAMP-1", "price": "10.00"}])
    sku = item.skus.get()
    sku.reorder_point = 5
    sku.save(update_fields=["reorder_point"])
    wh = warehouse()
    catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=3, actor=merchant.owner)
    catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=1, actor=merchant.owner)
    assert rows("low_stock") == [
        (uid, {"sku": "LAMP-1", "product": "Desk lamp", "available": 3}, "/portal/catalog/alerts/")
        for uid in sorted([merchant.owner_id, team["catalog"].pk])
    ]


def test_an_approved_statement_tells_the_owner_and_finance_members():
    shop = Shop()
    team = members(shop.merchant)
    shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    statement = Statement.objects.get()
    assert rows("statement_ready") == []  # a draft is finance's own
    settlement_services.statement_approve(statement=statement, actor=staff("finance"))
    statement.refresh_from_db()
    assert rows("statement_ready") == [
        (
            uid,
            {"statement": statement.pk, "period": "2026-10", "amount": str(statement.payable)},
            f"/portal/statements/{statement.pk}/",
        )
        for uid in sorted([shop.merchant.owner_id, team["finance"].pk])
    ]


def test_grant_decisions_tell_the_owner_and_finance_members():
    programme = grant_programme(ProgrammeKind.FIT_OUT)
    merchant, _cats = live_merchant()
    team = members(merchant)
    approved = approve(apply(programme, merchant, invoiced="10000.00"))
    refused = subsidies.grant_refuse(
        application=apply(programme, merchant, invoiced="500.00"), actor=staff("operations"), reason="No invoice."
    )
    recipients = sorted([merchant.owner_id, team["finance"].pk])
    assert rows("subsidy_decided") == sorted(
        [
            (uid, {"programme": programme.name, "outcome": "approved", "amount": "2000.00"}, link)
            for uid in recipients
            for link in [f"/portal/statements/subsidies/{approved.pk}/"]
        ]
        + [
            (uid, {"programme": programme.name, "outcome": "refused", "reason": "No invoice."}, link)
            for uid in recipients
            for link in [f"/portal/statements/subsidies/{refused.pk}/"]
        ],
        key=lambda row: (row[0], row[2]),
    )


def test_a_penalty_and_its_appeal_decision_tell_the_owner_and_finance_members():
    ensure_charge_defaults()
    merchant, _cats = live_merchant()
    team = members(merchant)
    penalty = settlement_services.penalty_raise(
        merchant=merchant,
        kind="fake_shipment",
        amount="500.00",
        reason="Never scanned.",
        actor=staff("operations"),
        now=at(2026, 10, 10, 9),
    )
    recipients = sorted([merchant.owner_id, team["finance"].pk])
    link = f"/portal/statements/penalties/{penalty.pk}/"
    assert rows("penalty_raised") == [
        (
            uid,
            {
                "penalty": penalty.pk,
                "amount": "500.00",
                "reason": "Never scanned.",
                "appeal_until": penalty.appeal_until.isoformat(),
            },
            link,
        )
        for uid in recipients
    ]
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 11, 9)):
        settlement_services.penalty_appeal(
            penalty=penalty, merchant=merchant, actor=merchant.owner, statement="It was scanned."
        )
    settlement_services.penalty_decide(
        penalty=penalty, actor=staff("operations"), upheld=False, reason="No proof.", now=at(2026, 10, 12, 9)
    )
    assert rows("penalty_decided") == [
        (uid, {"penalty": penalty.pk, "outcome": "stands", "amount": "500.00", "reason": "No proof."}, link)
        for uid in recipients
    ]


def test_a_submitted_application_tells_the_staff_who_approve_applications():
    from tests.merchants.factories import draft_application

    reviewer, operations, superuser = staff("reviewer"), staff("operations"), staff(superuser=True)
    staff("finance")
    merchant = draft_application()
    from merchants import services as merchant_services

    merchant_services.application_submit(merchant=merchant, actor=merchant.owner)
    assert rows("application_submitted") == [
        (uid, {"merchant": merchant.company_name}, f"/admin/merchants/merchant/{merchant.pk}/change/")
        for uid in sorted([reviewer.pk, operations.pk, superuser.pk])
    ]
    assert MerchantMember.objects.filter(merchant=merchant).count() == 1
