"""Reference data of penalties and service fees: the starting penalty amounts, the technical
service fee per tier, the subscription plans and value-added services. Staff edit them in the
admin; these are created when missing (after every migrate, and so after a test database
flush), never overwriting an edit. domain.md names none of these figures: placeholders."""

from decimal import Decimal

from django.apps import apps

PENALTY_AMOUNTS = {
    "late_shipment": Decimal("50.00"),
    "fake_shipment": Decimal("500.00"),
    "counterfeit": Decimal("10000.00"),
    "breach_of_contract": Decimal("5000.00"),
}
TECHNICAL_FEES = {"core": Decimal("6000.00"), "potential": Decimal("3000.00"), "strategic": Decimal("12000.00")}
PLANS = [
    {
        "code": "gold",
        "name": "金牌会员",
        "monthly_price": Decimal("299.00"),
        "yearly_price": Decimal("2990.00"),
        "benefits": "物流费用折扣\n专属客服\n流量扶持",
        "position": 1,
    },
    {
        "code": "platinum",
        "name": "白金会员",
        "monthly_price": Decimal("999.00"),
        "yearly_price": Decimal("9990.00"),
        "benefits": "更高的物流费用折扣\n专属客户经理\n首页流量扶持",
        "position": 2,
    },
]
SERVICES = [
    {"kind": "keyword_bidding", "name": "关键词竞价（1,000 次点击）", "price": Decimal("500.00")},
    {"kind": "homepage_slot", "name": "首页推荐位（一周）", "price": Decimal("2000.00")},
    {"kind": "shop_decoration", "name": "店铺装修（模板与设计服务）", "price": Decimal("3000.00")},
]


def ensure_default_charges(sender=None, **kwargs) -> int:
    """Create any missing default row (never overwrites staff edits). Returns how many."""
    if sender is not None and sender.label != "settlements":
        return 0
    model = apps.get_model
    created = 0
    for kind, amount in PENALTY_AMOUNTS.items():
        created += model("settlements", "PenaltyParameter").objects.get_or_create(
            kind=kind, defaults={"amount": amount}
        )[1]
    for tier in model("merchants", "Tier").objects.filter(code__in=TECHNICAL_FEES):
        created += model("settlements", "TechnicalServiceFee").objects.get_or_create(
            tier=tier, defaults={"yearly_amount": TECHNICAL_FEES[tier.code]}
        )[1]
    for plan in PLANS:
        created += model("settlements", "SubscriptionPlan").objects.get_or_create(code=plan["code"], defaults=plan)[1]
    for service in SERVICES:
        created += model("settlements", "ValueAddedService").objects.get_or_create(
            kind=service["kind"], name=service["name"], defaults=service
        )[1]
    return created
