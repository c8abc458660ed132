"""Who is told what when stock runs low (`notifications.services.notify`), called by the stock
services after their change, in their transaction: a rollback tells nobody. The merchant's
members told are those whose role handles the catalog (`merchants.selectors.member_user_ids`).
"""

from __future__ import annotations

from django.urls import reverse

from merchants.choices import PortalSection
from merchants.selectors import member_user_ids
from notifications.choices import NotificationKind
from notifications.services import notify_many

from ..models import SKU


def low_stock(stocks) -> None:
    """A low-stock alert was opened for each of these stock rows (available below the SKU's
    reorder point). Asks the SKUs and each merchant's members once and writes every
    notification in one INSERT, only when an alert opens: other stock writes pay nothing."""
    if not stocks:
        return
    skus = SKU.objects.select_related("product").in_bulk({stock.sku_id for stock in stocks})
    members: dict[int, list[int]] = {}
    notices = []
    for stock in stocks:
        sku = skus[stock.sku_id]
        if sku.merchant_id not in members:
            members[sku.merchant_id] = member_user_ids(sku.merchant_id, section=PortalSection.CATALOG)
        params = {"sku": sku.code, "product": sku.product.title, "available": stock.available}
        notices.append((members[sku.merchant_id], params, reverse("portal_catalog:alerts")))
    notify_many(kind=NotificationKind.LOW_STOCK, notices=notices)
