"""Refunds through the gateway, with the proportional reversal settlement needs.

Guarantees (domain.md "Refunds"): a refund R on a line never exceeds what was paid for the
line and not yet refunded (checked under the line's lock and by a database constraint); its
share s = R / paid reverses s of the line: refunded base = base × s, platform discount taken
back = platform discount × s, commission returned = commission × s, each rounded half-up.
A shipping refund is its own amount and touches no commission. A refund reference is
unique, so a retried call cannot refund twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.money import ZERO, quantize

from ..errors import OrderConflict, OrderError
from ..gateways.sandbox import get_gateway
from ..models import MerchantOrder, OrderLine, PaymentStatus, Refund, RefundLine


@dataclass(frozen=True)
class RefundItem:
    order_line_id: int
    amount: Decimal
    quantity: int = 0


def reversal(line: OrderLine, amount: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(refunded base, platform discount taken back, commission returned) for `amount`."""
    if line.paid == 0:
        return ZERO, ZERO, ZERO
    share = amount / line.paid
    return quantize(line.base * share), quantize(line.platform_discount * share), quantize(line.commission * share)


@transaction.atomic
def refund_issue(
    *,
    merchant_order: MerchantOrder,
    items: list[RefundItem],
    shipping_amount: Decimal = ZERO,
    reason: str,
    actor=None,
    reference: str | None = None,
) -> Refund:
    """Refund lines (and optionally shipping) of a paid merchant order to the buyer."""
    reference = reference or f"rf_{secrets.token_hex(10)}"
    existing = Refund.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    order = MerchantOrder.objects.select_for_update().get(pk=merchant_order.pk)
    if order.paid_at is None:
        raise OrderConflict("not_paid", _("Nothing was paid for this order."))
    payment = order.buyer_order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    shipping_amount = quantize(shipping_amount or ZERO)
    already_shipping = sum(order.refunds.values_list("shipping_amount", flat=True), ZERO)
    if shipping_amount < 0 or shipping_amount + already_shipping > order.shipping_fee:
        raise OrderError("shipping_refund_too_large", _("The shipping refund exceeds the shipping paid."))

    # Each line once: two items of one line would each pass the check below on the same
    # figures and together refund more than was paid.
    if len({i.order_line_id for i in items}) != len(items):
        raise OrderError("duplicate_line", _("Each item can appear only once in a refund."))
    lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update().filter(
            merchant_order=order, pk__in=[i.order_line_id for i in items]
        )
    }
    refund_lines = []
    for item in items:
        line = lines.get(item.order_line_id)
        if line is None:
            raise OrderError("unknown_line", _("This line is not part of the order."), {"line": item.order_line_id})
        amount = quantize(item.amount)
        if amount <= 0:
            raise OrderError("invalid_amount", _("A refund amount must be greater than zero."))
        if amount > line.paid - line.refunded:
            raise OrderError(
                "refund_exceeds_paid",
                _("At most ¥%(max)s can still be refunded on this line.") % {"max": line.paid - line.refunded},
                {"line": line.pk, "max": str(line.paid - line.refunded)},
            )
        base, discount_back, commission_back = reversal(line, amount)
        refund_lines.append(
            RefundLine(
                order_line=line,
                amount=amount,
                quantity=item.quantity,
                refunded_base=base,
                platform_discount_back=discount_back,
                commission_returned=commission_back,
            )
        )
    total = sum((r.amount for r in refund_lines), ZERO) + shipping_amount
    if total <= 0:
        raise OrderError("invalid_amount", _("There is nothing to refund."))
    refund = Refund.objects.create(
        merchant_order=order,
        amount=total,
        shipping_amount=shipping_amount,
        reason=(reason or "")[:200],
        reference=reference,
        completed_at=timezone.now(),
    )
    for row in refund_lines:
        row.refund = refund
        OrderLine.objects.filter(pk=row.order_line_id).update(refunded=F("refunded") + row.amount)
    RefundLine.objects.bulk_create(refund_lines)
    if payment is not None:
        get_gateway(payment.gateway).refund(payment=payment, amount=total, reference=reference)
    audit_record(
        action="orders.refunded", actor=actor, obj=order, reason=reason, data={"amount": total, "reference": reference}
    )
    return refund


def full_refund_items(order: MerchantOrder) -> list[RefundItem]:
    """Everything still refundable on every line of the order."""
    return [
        RefundItem(line.pk, line.paid - line.refunded, line.quantity)
        for line in order.lines.all()
        if line.paid - line.refunded > 0
    ]
