from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Stock
from marketplace.errors import DomainError
from orders import services
from orders.errors import OrderConflict, OrderError, OrderInvalidTransition
from orders.gateways import sandbox
from orders.models import AfterSalesRequest, MerchantOrder, OrderLine, Refund, RefundLine, Review
from orders.services import CheckoutItem, RefundItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db


def _paid_order(*, ship=True, lines=(("199.99", 2), ("35.50", 1))):
    merchant, (cat,) = live_merchant()
    wh = warehouse()
    skus = []
    for n, (price, _qty) in enumerate(lines):
        item = product(merchant, cat, skus=[{"code": f"L{n}", "price": price}])
        sku = item.skus.get()
        catalog_services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=20, actor=merchant.owner)
        skus.append(sku)
    buyer = UserFactory()
    order = services.checkout_place(
        buyer=buyer,
        address=address_for(buyer),
        items=[CheckoutItem(s.pk, q) for s, (_p, q) in zip(skus, lines, strict=True)],
    )
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    services.gateway_event_process(gateway="sandbox", event=event)
    merchant_order = order.merchant_orders.get()
    if ship:
        services.merchant_order_ship(
            order=merchant_order,
            merchant=merchant_order.merchant,
            actor=merchant.owner,
            carrier="SF",
            tracking_number="SF1",
        )
    merchant_order.refresh_from_db()
    return merchant_order, buyer, merchant, wh


def test_refund_reversal_follows_the_worked_example():
    """domain.md: ¥15.25 refunded on a line paid 30.50 (base 35.50, platform discount 5.00,
    commission 1.78) → refunded base 17.75, discount taken back 2.50, commission returned 0.89."""
    merchant_order, _buyer, _merchant, _wh = _paid_order(ship=False)
    line = merchant_order.lines.get(unit_price=Decimal("35.50"))
    # The worked example's line carries a platform discount, which promotions will set;
    # set its frozen figures as the example states them.
    OrderLine.objects.filter(pk=line.pk).update(
        platform_discount=Decimal("5.00"), paid=Decimal("30.50"), commission=Decimal("1.78")
    )
    line.refresh_from_db()
    assert services.reversal(line, Decimal("15.25")) == (Decimal("17.75"), Decimal("2.50"), Decimal("0.89"))


def test_refunds_never_exceed_what_was_paid():
    merchant_order, _buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("199.99"))
    services.refund_issue(
        merchant_order=merchant_order, items=[RefundItem(line.pk, Decimal("300.00"))], reason="partial"
    )
    with pytest.raises(OrderError) as info:
        services.refund_issue(
            merchant_order=merchant_order, items=[RefundItem(line.pk, Decimal("100.00"))], reason="too much"
        )
    assert (info.value.code, info.value.extra) == ("refund_exceeds_paid", {"line": line.pk, "max": "99.98"})
    line.refresh_from_db()
    assert line.refunded == Decimal("300.00")
    assert Refund.objects.count() == 1
    (row,) = RefundLine.objects.all()
    # commission 20.00 × 300/399.98, half-up
    assert (row.refunded_base, row.commission_returned) == (Decimal("300.00"), Decimal("15.00"))


def test_buyer_cancels_a_paid_unshipped_order_and_gets_everything_back():
    merchant_order, buyer, _merchant, _wh = _paid_order(ship=False)
    services.buyer_cancel(order=merchant_order, buyer=buyer)
    merchant_order.refresh_from_db()
    assert merchant_order.status == "cancelled"
    refund = Refund.objects.get()
    assert refund.amount == merchant_order.paid_total
    assert list(Stock.objects.values_list("reserved", flat=True)) == [0, 0]


def test_refund_only_request_accepted_by_the_merchant():
    merchant_order, buyer, merchant, _wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("35.50"))
    request = services.after_sales_request_create(
        order=merchant_order, buyer=buyer, kind="refund", reason="Scratched", items=[(line.pk, 1, Decimal("10.00"))]
    )
    merchant_order.refresh_from_db()
    assert merchant_order.after_sales_open is True
    services.after_sales_accept(request=request, merchant=request.merchant_order.merchant, actor=merchant.owner)
    request.refresh_from_db()
    merchant_order.refresh_from_db()
    assert (request.status, request.refund.amount, merchant_order.after_sales_open) == (
        "refunded",
        Decimal("10.00"),
        False,
    )
    line.refresh_from_db()
    assert line.refunded == Decimal("10.00")


def test_return_and_refund_puts_goods_back_in_stock():
    merchant_order, buyer, merchant, wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("199.99"))
    request = services.after_sales_request_create(
        order=merchant_order,
        buyer=buyer,
        kind="return_refund",
        reason="Wrong size",
        items=[(line.pk, 1, Decimal("199.99"))],
    )
    services.after_sales_accept(request=request, merchant=request.merchant_order.merchant, actor=merchant.owner)
    request.refresh_from_db()
    assert request.status == "awaiting_return"
    before = Stock.objects.get(sku=line.sku, warehouse=wh).on_hand
    services.after_sales_return_received(
        request=request, merchant=request.merchant_order.merchant, actor=merchant.owner, warehouse=wh
    )
    assert Stock.objects.get(sku=line.sku, warehouse=wh).on_hand == before + 1
    request.refresh_from_db()
    assert request.status == "refunded"


def test_reject_escalate_freeze_and_arbitrate():
    merchant_order, buyer, merchant, _wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("199.99"))
    request = services.after_sales_request_create(
        order=merchant_order,
        buyer=buyer,
        kind="refund",
        reason="Broken",
        items=[(line.pk, 2, Decimal("399.98"))],
        shipping_amount=Decimal("0.00"),
    )
    with pytest.raises(OrderError):
        services.after_sales_reject(
            request=request, merchant=request.merchant_order.merchant, actor=merchant.owner, note=""
        )
    services.after_sales_reject(
        request=request, merchant=request.merchant_order.merchant, actor=merchant.owner, note="Worked when shipped"
    )
    dispute = services.after_sales_escalate(request=request, buyer=buyer, statement="Photos attached")
    merchant_order.refresh_from_db()
    assert (merchant_order.is_frozen, merchant_order.after_sales_open) == (True, True)
    ops = UserFactory(is_staff=True)
    with pytest.raises(OrderError) as info:
        services.dispute_resolve(dispute=dispute, arbiter=ops, amount=Decimal("500.00"), note="x")
    assert info.value.code == "invalid_amount"
    services.dispute_resolve(dispute=dispute, arbiter=ops, amount=Decimal("200.00"), note="Half: partly used")
    merchant_order.refresh_from_db()
    assert (merchant_order.is_frozen, merchant_order.after_sales_open) == (False, False)
    line.refresh_from_db()
    assert line.refunded == Decimal("200.00")
    with pytest.raises(OrderInvalidTransition):
        services.dispute_resolve(dispute=dispute, arbiter=ops, amount=Decimal("0"), note="again")


def test_unanswered_requests_are_accepted_automatically():
    merchant_order, buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    request = services.after_sales_request_create(
        order=merchant_order, buyer=buyer, kind="refund", reason="Late", items=[(line.pk, 1, Decimal("5.00"))]
    )
    assert services.accept_overdue_requests(now=timezone.now() + timedelta(hours=47)) == 0
    assert services.accept_overdue_requests(now=timezone.now() + timedelta(hours=49)) == 1
    request.refresh_from_db()
    assert request.status == "refunded"


def test_one_open_request_per_order_and_only_after_shipping():
    merchant_order, buyer, _merchant, _wh = _paid_order(ship=False)
    line = merchant_order.lines.first()
    with pytest.raises(OrderInvalidTransition):
        services.after_sales_request_create(
            order=merchant_order, buyer=buyer, kind="refund", reason="x", items=[(line.pk, 1, Decimal("1.00"))]
        )
    merchant_order, buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    services.after_sales_request_create(
        order=merchant_order, buyer=buyer, kind="refund", reason="x", items=[(line.pk, 1, Decimal("1.00"))]
    )
    with pytest.raises(OrderConflict):
        services.after_sales_request_create(
            order=merchant_order, buyer=buyer, kind="refund", reason="y", items=[(line.pk, 1, Decimal("1.00"))]
        )
    assert AfterSalesRequest.objects.filter(merchant_order=merchant_order).count() == 1
    stranger = UserFactory()
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=MerchantOrder.objects.get(pk=merchant_order.pk),
            buyer=stranger,
            kind="refund",
            reason="z",
            items=[(line.pk, 1, Decimal("1.00"))],
        )
    assert info.value.code == "not_your_order"


def test_reviews_once_per_completed_line_and_complaints():
    merchant_order, buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    with pytest.raises(OrderInvalidTransition):
        services.review_create(order_line=line, buyer=buyer, rating=5)
    services.merchant_order_confirm_receipt(order=merchant_order, actor=buyer)
    line = OrderLine.objects.get(pk=line.pk)
    with pytest.raises(OrderError):
        services.review_create(order_line=line, buyer=buyer, rating=6)
    services.review_create(order_line=line, buyer=buyer, rating=4, text="Good lamp")
    with pytest.raises(OrderConflict):
        services.review_create(order_line=line, buyer=buyer, rating=5)
    assert list(Review.objects.values_list("rating", "merchant_id")) == [(4, line.merchant_id)]
    complaint = services.complaint_create(order=line.merchant_order, buyer=buyer, category="service", text="Rude")
    assert complaint.merchant_id == line.merchant_id


def test_photos_are_attached_reencoded_and_private(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from merchants.models import MerchantMember
    from orders.models import AfterSalesPhoto
    from tests.catalog.factories import image_upload

    merchant_order, buyer, merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    request = services.after_sales_request_create(
        order=merchant_order,
        buyer=buyer,
        kind="refund",
        reason="Cracked",
        items=[(line.pk, 1, Decimal("1.00"))],
        photos=[image_upload(color=(1, 1, 1)), image_upload(color=(2, 2, 2))],
    )
    photos = list(AfterSalesPhoto.objects.filter(request=request))
    assert len(photos) == 2
    assert photos[0].image.read(3) == b"\xff\xd8\xff"  # re-encoded as JPEG
    url = f"/after-sales/photos/{photos[0].pk}/"
    client.force_login(buyer)
    assert client.get(url).status_code == 200
    client.force_login(merchant.owner)
    assert client.get(url).status_code == 200
    catalog_member = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=catalog_member, role="catalog")
    client.force_login(catalog_member)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    # A bad file or too many photos refuse the whole request.
    other_order, other_buyer, _m, _w = _paid_order()
    with pytest.raises(Exception) as info:
        services.after_sales_request_create(
            order=other_order,
            buyer=other_buyer,
            kind="refund",
            reason="x",
            items=[(other_order.lines.first().pk, 1, Decimal("1.00"))],
            photos=[SimpleUploadedFile("evil.png", b"MZ\x90\x00" + b"\x00" * 64)],
        )
    assert info.value.code == "file_type_not_allowed"
    assert AfterSalesRequest.objects.filter(merchant_order=other_order).count() == 0


@pytest.mark.parametrize(
    ("kind", "reason", "code"),
    [
        ("refund", "Cracked", "image_too_large"),
        ("exchange", "Cracked", "invalid_kind"),
        ("refund", " ", "reason_required"),
    ],
)
def test_photos_of_12000_by_12000_are_refused_before_any_photo_is_decoded(kind, reason, code):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from orders.models import AfterSalesPhoto
    from tests.catalog.factories import image_upload
    from tests.factories import no_decoding, png_bomb

    merchant_order, buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    # A good photo first: it is not decoded either, since the bombs' headers are read first.
    photos = [image_upload(), *(SimpleUploadedFile(f"{n}.png", png_bomb()) for n in range(3))]
    with no_decoding() as load, pytest.raises(DomainError) as info:
        services.after_sales_request_create(
            order=merchant_order,
            buyer=buyer,
            kind=kind,
            reason=reason,
            items=[(line.pk, 1, Decimal("1.00"))],
            photos=photos,
        )
    assert info.value.code == code
    assert load.call_count == 0
    assert AfterSalesRequest.objects.count() == 0
    assert AfterSalesPhoto.objects.count() == 0
    merchant_order.refresh_from_db()
    assert merchant_order.status == "shipped"


def test_after_sales_photos_are_for_staff_who_may_see_after_sales_requests(client):
    # Any staff could open any buyer's photos by id; now only those who see the request (its
    # admin page or its dispute's: operations) do, other staff get 403 and nothing changes.
    from django.contrib.auth.models import Group

    from orders.models import AfterSalesPhoto
    from tests.catalog.factories import image_upload

    merchant_order, buyer, _merchant, _wh = _paid_order()
    line = merchant_order.lines.first()
    services.after_sales_request_create(
        order=merchant_order,
        buyer=buyer,
        kind="refund",
        reason="Cracked",
        items=[(line.pk, 1, Decimal("1.00"))],
        photos=[image_upload(color=(3, 3, 3))],
    )
    url = f"/after-sales/photos/{AfterSalesPhoto.objects.get().pk}/"

    def staff(group=None):
        user = UserFactory(is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    before = (AfterSalesRequest.objects.values_list("pk", "status").get(), AfterSalesPhoto.objects.count())
    for user, status in [
        (staff("operations"), 200),
        (UserFactory(is_staff=True, is_superuser=True), 200),
        (staff("reviewer"), 403),
        (staff("finance"), 403),
        (staff(), 403),
    ]:
        client.force_login(user)
        assert client.get(url).status_code == status, user.groups.first()
    assert (AfterSalesRequest.objects.values_list("pk", "status").get(), AfterSalesPhoto.objects.count()) == before
