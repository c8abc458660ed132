"""The recruitment tiers every platform starts with (domain.md); staff edit them later."""

from decimal import Decimal

from django.apps import apps

DEFAULT_TIERS = [
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


def ensure_default_tiers(sender=None, **kwargs) -> int:
    """Create any missing default tier (never overwrites staff edits). Returns how many."""
    if sender is not None and sender.label != "merchants":
        return 0
    tier_model = apps.get_model("merchants", "Tier")
    created = 0
    for row in DEFAULT_TIERS:
        _tier, was_created = tier_model.objects.get_or_create(code=row["code"], defaults=row)
        created += was_created
    return created
