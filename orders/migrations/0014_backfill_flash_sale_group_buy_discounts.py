"""Backfill the per-source discount rows (0013) of flash-sale and group-buy lines placed
before checkout wrote them, from what those lines were sold on: a flash sale's consumed (or
since returned) reservations name their merchant order, a group-buy participant its buyer
order. The parts are the line's frozen discount (such a line takes no promotion); a group
buy's difference refunded at the close becomes its later part, split by the campaign's
funding as `orders.services.group_buys` does now. Lines that already have a row are skipped,
so running it on a database where checkout already wrote them changes nothing."""

from django.db import migrations

from marketplace.money import allocate


def _lines_without_rows(OrderLine, merchant_order_ids):
    return OrderLine.objects.filter(
        merchant_order_id__in=merchant_order_ids, is_gift=False, discounts__isnull=True
    ).only("id", "sku_id", "merchant_order_id", "merchant_discount", "platform_discount")


def backfill(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    OrderLineDiscount = apps.get_model("orders", "OrderLineDiscount")
    MerchantOrder = apps.get_model("orders", "MerchantOrder")
    RefundLine = apps.get_model("orders", "RefundLine")
    FlashReservation = apps.get_model("promotions", "FlashReservation")
    GroupBuyParticipant = apps.get_model("promotions", "GroupBuyParticipant")

    rows = []
    # Flash sales: (merchant order number, SKU) → sale.
    sold = {
        (number, sku_id): sale_id
        for number, sku_id, sale_id in FlashReservation.objects.filter(status__in=["consumed", "returned"])
        .exclude(order_number="")
        .values_list("order_number", "sale__sku_id", "sale_id")
    }
    numbers = {number for number, _sku in sold}
    orders = dict(MerchantOrder.objects.filter(number__in=numbers).values_list("id", "number"))
    for line in _lines_without_rows(OrderLine, list(orders)):
        sale_id = sold.get((orders[line.merchant_order_id], line.sku_id))
        if sale_id is not None:
            rows.append(
                OrderLineDiscount(
                    line_id=line.pk,
                    flash_sale_id=sale_id,
                    merchant_part=line.merchant_discount,
                    platform_part=line.platform_discount,
                )
            )

    # Group buys: buyer order → participant (its campaign, share and settled difference).
    participants = {
        p.order_id: p
        for p in GroupBuyParticipant.objects.filter(order_id__isnull=False).select_related("group__campaign")
    }
    merchant_orders = dict(
        MerchantOrder.objects.filter(buyer_order_id__in=list(participants)).values_list("id", "buyer_order_id")
    )
    for line in _lines_without_rows(OrderLine, list(merchant_orders)):
        participant = participants[merchant_orders[line.merchant_order_id]]
        campaign = participant.group.campaign
        if line.sku_id != campaign.sku_id:
            continue
        later = (0, 0)
        if participant.outcome == "difference" and participant.refund_id is not None:
            refunded = RefundLine.objects.filter(refund_id=participant.refund_id, order_line_id=line.pk).first()
            if refunded is not None:
                share = campaign.platform_share
                later = allocate(refunded.amount, [1 - share, share])
        rows.append(
            OrderLineDiscount(
                line_id=line.pk,
                group_buy_id=campaign.pk,
                merchant_part=line.merchant_discount,
                platform_part=line.platform_discount,
                later_merchant_part=later[0],
                later_platform_part=later[1],
            )
        )
    OrderLineDiscount.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_discount_sources_flash_sale_group_buy"),
        ("promotions", "0005_group_buys"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
