"""Starting values of the penalty amounts, the technical service fee per tier, the
subscription plans and the value-added services. domain.md names none of these figures:
they are placeholders operations edit in the admin before launch."""

from decimal import Decimal

from django.db import migrations

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
]


def create(apps, schema_editor):
    PenaltyParameter = apps.get_model("settlements", "PenaltyParameter")
    for kind, amount in PENALTY_AMOUNTS.items():
        PenaltyParameter.objects.get_or_create(kind=kind, defaults={"amount": amount})
    Tier = apps.get_model("merchants", "Tier")
    TechnicalServiceFee = apps.get_model("settlements", "TechnicalServiceFee")
    for tier in Tier.objects.filter(code__in=TECHNICAL_FEES):
        TechnicalServiceFee.objects.get_or_create(tier=tier, defaults={"yearly_amount": TECHNICAL_FEES[tier.code]})
    SubscriptionPlan = apps.get_model("settlements", "SubscriptionPlan")
    for plan in PLANS:
        SubscriptionPlan.objects.get_or_create(code=plan["code"], defaults=plan)
    ValueAddedService = apps.get_model("settlements", "ValueAddedService")
    for service in SERVICES:
        ValueAddedService.objects.get_or_create(kind=service["kind"], name=service["name"], defaults=service)


def remove(apps, schema_editor):
    apps.get_model("settlements", "PenaltyParameter").objects.filter(kind__in=PENALTY_AMOUNTS).delete()
    apps.get_model("settlements", "TechnicalServiceFee").objects.filter(tier__code__in=TECHNICAL_FEES).delete()
    apps.get_model("settlements", "SubscriptionPlan").objects.filter(code__in=[p["code"] for p in PLANS]).delete()
    apps.get_model("settlements", "ValueAddedService").objects.filter(name__in=[s["name"] for s in SERVICES]).delete()


class Migration(migrations.Migration):
    dependencies = [("settlements", "0009_penalties_and_service_fees"), ("merchants", "0002_default_tiers")]

    operations = [migrations.RunPython(create, remove)]
