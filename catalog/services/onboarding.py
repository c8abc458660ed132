"""Use cases that span merchants and catalog, owned here because catalog is the upper app.

Each is entered with `transaction.atomic(durable=True)`: it is the whole change, so calling it
inside another transaction (where a later failure could undo half of it, or keep its locks
longer than it says) is refused at once rather than nested by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from merchants import services as merchant_services

from .categories import category_grants_from_contract


@dataclass(frozen=True)
class MerchantApproval:
    """What an approval did: the approved merchant and the categories now granted to it."""

    merchant: object  # merchants.models.Merchant; catalog services do not import merchants.models
    granted_category_ids: list[int]


@transaction.atomic(durable=True)
def merchant_approve_with_grants(*, merchant, actor, **terms) -> MerchantApproval:
    """Approve the application with `terms` (the keyword arguments of
    `merchants.services.application_approve`: tier, reason, revenue-share rate, franchise fee,
    exclusivity, settlement days, contract years) and grant exactly the categories of the
    contract it offers, all or nothing.

    A merchant is never approved without the grants of its contract, nor granted categories
    by an approval that was refused: any refusal (`invalid_transition`,
    `revenue_share_rate_required`, `franchise_fee_required`, `invalid_revenue_share_rate`,
    `unknown_categories`) rolls both back. Locks the merchant row (the transition), then its
    grants. Durable: refuses to run inside another transaction (RuntimeError). Side effects
    are those of the two services (the approval e-mail after commit); both write their audit rows.
    """
    approved = merchant_services.application_approve(merchant=merchant, actor=actor, **terms)
    granted = category_grants_from_contract(merchant=approved, actor=actor)
    return MerchantApproval(merchant=approved, granted_category_ids=granted)
