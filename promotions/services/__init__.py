"""Every write of the promotions app. See each module's docstring for its guarantees."""

from .group_buys import (
    GroupBuyTerms,
    group_buy_create,
    group_buy_decide,
    group_buy_join_terms,
    group_buy_order_cancelled,
    group_buy_order_paid,
    group_buy_participant_claim,
    group_buy_participant_record,
    group_buy_participant_settled,
    group_buy_set_platform_share,
    group_buy_step_discount,
    group_buy_transition,
    validate_group_buy_steps,
)

__all__ = [
    "GroupBuyTerms",
    "group_buy_create",
    "group_buy_decide",
    "group_buy_join_terms",
    "group_buy_order_cancelled",
    "group_buy_order_paid",
    "group_buy_participant_claim",
    "group_buy_participant_record",
    "group_buy_participant_settled",
    "group_buy_set_platform_share",
    "group_buy_step_discount",
    "group_buy_transition",
    "validate_group_buy_steps",
]
