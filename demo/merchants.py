"""Demo merchants in every state, driven through the real services (so they are valid)."""

from __future__ import annotations

import datetime
import io
from contextlib import nullcontext
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from catalog.models import Category
from catalog.services import merchant_approve_with_grants
from demo.orders import clock, demo_tax_year
from demo.users import DEMO_PASSWORD
from merchants import selectors, services
from merchants.models import Merchant, Tier
from merchants.validators import uscc_check_char

# owner email, company, shop, target status, tier, cooperation mode, category slugs, cross-border
MERCHANTS = [
    (
        "merchant1@demo.local",
        "杭州明亮家居有限公司",
        "明亮家居",
        "live",
        "core",
        "platform_entry",
        ["kitchen", "lighting", "bedding", "storage"],
        False,
    ),
    (
        "merchant2@demo.local",
        "苏州丝绸服饰有限公司",
        "苏绣坊",
        "live",
        "potential",
        "joint_operation",
        ["womens", "mens", "shoes", "bags"],
        False,
    ),
    (
        "merchant3@demo.local",
        "上海优选电器股份有限公司",
        "优选电器",
        "live",
        "strategic",
        "franchise",
        ["small-appliances", "large-appliances"],
        False,
    ),
    (
        "merchant4@demo.local",
        "宁波海淘国际贸易有限公司",
        "海淘全球购",
        "live",
        "core",
        "platform_entry",
        ["imported-beauty", "imported-food", "baby"],
        True,
    ),
    (
        "merchant5@demo.local",
        "云南高原果业有限公司",
        "高原鲜果",
        "deposit_paid",
        "potential",
        "platform_entry",
        ["fruit"],
        False,
    ),
    (
        "merchant6@demo.local",
        "广州美居灯饰有限公司",
        "美居灯饰",
        "contract_signed",
        "core",
        "platform_entry",
        ["lighting"],
        False,
    ),
    (
        "merchant7@demo.local",
        "深圳智造科技有限公司",
        "智造小家电",
        "approved",
        "potential",
        "platform_entry",
        ["small-appliances"],
        False,
    ),
    (
        "merchant8@demo.local",
        "成都川味食品有限公司",
        "川味坊",
        "under_review",
        "potential",
        "platform_entry",
        ["food"],
        False,
    ),
    (
        "merchant9@demo.local",
        "青岛海风服饰有限公司",
        "海风男装",
        "submitted",
        "core",
        "platform_entry",
        ["mens"],
        False,
    ),
    (
        "merchant10@demo.local",
        "厦门茶语贸易有限公司",
        "茶语",
        "submitted",
        "potential",
        "platform_entry",
        ["food"],
        False,
    ),
    (
        "merchant11@demo.local",
        "武汉光谷电子有限公司",
        "光谷电子",
        "changes_requested",
        "core",
        "platform_entry",
        ["appliances"],
        False,
    ),
    (
        "merchant12@demo.local",
        "南京仿品贸易有限公司",
        "南京杂货",
        "rejected",
        "core",
        "platform_entry",
        ["home"],
        False,
    ),
    (
        "merchant13@demo.local",
        "西安古城文创有限公司",
        "古城文创",
        "draft",
        "potential",
        "platform_entry",
        ["home"],
        False,
    ),
    (
        "merchant14@demo.local",
        "天津老街食品有限公司",
        "老街食品",
        "suspended",
        "potential",
        "platform_entry",
        ["food"],
        False,
    ),
    (
        "merchant15@demo.local",
        "长沙星城家纺有限公司",
        "星城家纺",
        "terminated",
        "core",
        "platform_entry",
        ["home"],
        False,
    ),
]

#: The shop that went live in the demo's tax year (`demo.orders.demo_tax_year`), so it can
#: apply for the tax rebate of that year (demo/subsidies.py). Its onboarding happens on the days
#: from `backdated_onboarding`, through the same services, with a three-year contract (the
#: rebate's three tax years); every other shop goes live when the demo is seeded.
TAX_REBATE_SHOP = "merchant3@demo.local"


def backdated_onboarding(today: datetime.date | None = None) -> datetime.datetime:
    """When the tax-rebate shop applies: 18 August of the demo's tax year, 10:00 local time
    (each next onboarding step a day later: live on the 24th)."""
    return timezone.make_aware(datetime.datetime(demo_tax_year(today), 8, 18, 10))


ORDER = [
    "draft",
    "submitted",
    "under_review",
    "approved",
    "contract_signed",
    "deposit_paid",
    "live",
]


def _image(text: str) -> bytes:
    image = Image.new("RGB", (600, 400), (245, 240, 230))
    ImageDraw.Draw(image).text((30, 180), text, fill=(120, 40, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _uscc(n: int) -> str:
    first17 = f"91330100{n:09d}"
    return first17 + uscc_check_char(first17)


def _step(merchant: Merchant, step: str, reviewer, owner, *, contract_years: int | None = None) -> None:
    """One onboarding step of `_reach`, through its service."""
    if step == "submitted":
        services.application_submit(merchant=merchant, actor=owner)
    elif step == "under_review":
        services.application_start_review(merchant=merchant, actor=reviewer)
    elif step == "approved":
        extra = {}
        if merchant.cooperation_mode == "joint_operation":
            extra["revenue_share_rate"] = Decimal("0.1200")
        if merchant.cooperation_mode == "franchise":
            extra["franchise_fee"] = Decimal("30000.00")
        if contract_years:
            extra["contract_years"] = contract_years
        merchant_approve_with_grants(merchant=merchant, actor=reviewer, tier=merchant.requested_tier, **extra)
    elif step == "contract_signed":
        services.contract_accept(merchant=merchant, actor=owner)
    elif step == "deposit_paid":
        services.deposit_record_payment(
            merchant=merchant,
            actor=reviewer,
            amount=selectors.deposit_required(merchant),
            reference=f"DEMO-BANK-{merchant.pk}",
            reason="银行转账（演示）",
        )
    elif step == "live":
        services.merchant_go_live(merchant=merchant, actor=owner)


def _reach(merchant: Merchant, target: str, reviewer, owner, *, since: datetime.datetime | None = None) -> None:
    if target == "draft":
        return
    if target in {"rejected", "changes_requested"}:
        services.application_submit(merchant=merchant, actor=owner)
        services.application_start_review(merchant=merchant, actor=reviewer)
        if target == "rejected":
            services.application_reject(merchant=merchant, actor=reviewer, reason="营业执照与公司名称不一致。")
        else:
            services.application_request_changes(
                merchant=merchant, actor=reviewer, reason="请上传清晰的营业执照扫描件（当前图片模糊）。"
            )
        return
    final = target
    if target in {"suspended", "terminated"}:
        final = "live"
    steps = ORDER[1 : ORDER.index(final) + 1]
    for n, step in enumerate(steps, start=1):
        with clock(since + datetime.timedelta(days=n)) if since else nullcontext():
            _step(merchant, step, reviewer, owner, contract_years=3 if since else None)
    if target == "suspended":
        services.merchant_suspend(merchant=merchant, actor=reviewer, reason="近30天投诉率超过5%，暂停整改。")
    if target == "terminated":
        services.merchant_terminate(merchant=merchant, actor=reviewer, reason="商家主动申请退出平台。")


def seed_merchants(stdout) -> int:
    User = get_user_model()
    reviewer = User.objects.get(email="reviewer@demo.local")
    categories = {c.slug: c.pk for c in Category.objects.all()}
    created = 0
    for n, (email, company, shop, target, tier_code, mode, slugs, cross_border) in enumerate(MERCHANTS, start=1):
        if Merchant.objects.filter(owner__email=email).exists():
            continue
        owner, was_created = User.objects.get_or_create(email=email, defaults={"first_name": shop})
        if was_created:
            owner.set_password(DEMO_PASSWORD)
            owner.save(update_fields=["password"])
        since = backdated_onboarding() if email == TAX_REBATE_SHOP else None
        with clock(since) if since else nullcontext():
            merchant = services.application_create(
                owner=owner,
                data={
                    "company_name": company,
                    "shop_name": shop,
                    "social_credit_code": _uscc(n),
                    "legal_rep_name": "张三",
                    "legal_rep_id_number": "11010519491231002X",
                    "contact_name": "李四",
                    "contact_phone": f"1390000{n:04d}",
                    "contact_email": email,
                    "requested_category_ids": [categories[s] for s in slugs if s in categories],
                    "sales_regions": ["east", "south", "north"],
                    "cooperation_mode": mode,
                    "requested_tier": Tier.objects.get(code=tier_code),
                    "is_cross_border": cross_border,
                    "bank_account_name": company,
                    "bank_name": "中国工商银行杭州分行",
                    "bank_account_number": f"62220212{n:08d}",
                    "description": f"{shop}：平台认证商家。",
                },
            )
            kinds = [*selectors.required_document_kinds(merchant), "quality_certification"]
            for kind in kinds:
                services.document_add(
                    merchant=merchant,
                    actor=owner,
                    kind=kind,
                    uploaded=SimpleUploadedFile(f"{kind}.png", _image(f"{company} {kind}")),
                    # The first shop's certificate expires soon: its renewal is in the demo (issue #15).
                    expires_on=timezone.localdate() + datetime.timedelta(days=20)
                    if n == 1 and kind == "quality_certification"
                    else None,
                )
        _reach(merchant, target, reviewer, owner, since=since)
        created += 1
    return created
