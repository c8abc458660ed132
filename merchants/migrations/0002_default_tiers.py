"""The three recruitment tiers with the proposal's defaults; staff edit them afterwards."""

from decimal import Decimal

from django.db import migrations

TIERS = [
    {
        "code": "core",
        "name": "核心商家",
        "deposit_amount": Decimal("50000.00"),
        "commission_plan": "standard",
        "min_monthly_gmv": Decimal("500000.00"),
        "min_sku_coverage_pct": 80,
        "entry_criteria": "供应链优势或垂直类目品牌前十；SKU 覆盖率 ≥ 80%；月 GMV ≥ ¥500,000；成熟的电商团队",
        "benefits": "标准佣金；优先展示位",
        "position": 1,
    },
    {
        "code": "potential",
        "name": "潜力商家",
        "deposit_amount": Decimal("20000.00"),
        "commission_plan": "standard",
        "min_annual_growth_pct": 30,
        "entry_criteria": "创新型中小企业：原创设计或专利；年增长率 ≥ 30%",
        "benefits": "流量扶持",
        "position": 2,
    },
    {
        "code": "strategic",
        "name": "战略合作伙伴",
        "deposit_amount": Decimal("100000.00"),
        "commission_plan": "ladder",
        "min_contract_years": 3,
        "entry_criteria": "行业龙头或上市公司；合同期 ≥ 3 年；承诺年度最低营销投入",
        "benefits": "阶梯佣金；联合营销",
        "position": 3,
    },
]


def create_tiers(apps, schema_editor):
    Tier = apps.get_model("merchants", "Tier")
    for row in TIERS:
        Tier.objects.get_or_create(code=row["code"], defaults=row)


def remove_tiers(apps, schema_editor):
    apps.get_model("merchants", "Tier").objects.filter(code__in=[t["code"] for t in TIERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("merchants", "0001_initial")]

    operations = [migrations.RunPython(create_tiers, remove_tiers)]
