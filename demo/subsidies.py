"""Demo subsidies for `make run` (issue #14): the programmes of domain.md, so the demo's
settlement runs accrue the logistics subsidy on orders shipped with 顺丰速运 or 京东物流, and
three fit-out / training applications of the demo shops: one approved in the second demo
month (paid in its statement), one refused with a reason, one waiting for operations.

Runs before the settlements step. Idempotent: when the programmes exist, nothing is created.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from demo.catalog import SHOPS
from demo.orders import clock, demo_periods
from merchants.models import Merchant
from settlements.models import SubsidyProgramme
from settlements.periods import local_midnight
from settlements.services import subsidies

OPERATIONS = "ops@demo.local"
# A one-page PDF, enough for the upload checks (type from its bytes, complete).
INVOICE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _invoice(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, INVOICE, content_type="application/pdf")


def seed_subsidies(stdout) -> int:
    """Seed the programmes and the demo applications; returns how many rows were created."""
    if SubsidyProgramme.objects.exists():
        return 0
    operations = get_user_model().objects.filter(email=OPERATIONS).first()
    merchants = list(Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS]).order_by("pk"))
    first, second = demo_periods()
    programmes = subsidies.programme_defaults_seed(valid_from=datetime.date(first.year - 1, 1, 1), actor=operations)
    created = len(programmes)
    if operations is None or not merchants:
        return created
    by_code = {p.code: p for p in programmes}
    day = local_midnight(second.first_day)
    applications = [
        (merchants[0], "fit-out", "杭州旗舰店门头与陈列改造", {"invoiced_amount": "186500.00"}, "approve"),
        (merchants[1 % len(merchants)], "training", "冷链操作员持证培训", {"invoiced_amount": "12800.00"}, "refuse"),
        (merchants[2 % len(merchants)], "fit-out", "华东仓拣货区改造", {"invoiced_amount": "92000.00"}, None),
    ]
    for n, (merchant, code, project, amounts, decision) in enumerate(applications):
        with clock(day + datetime.timedelta(days=5 + n, hours=10)):
            application = subsidies.grant_apply(
                merchant=merchant,
                programme=by_code[code],
                actor=merchant.owner,
                project=project,
                documents=[_invoice(f"invoice-{n + 1}.pdf")],
                **amounts,
            )
        created += 1
        with clock(day + datetime.timedelta(days=8 + n, hours=15)):
            if decision == "approve":
                subsidies.grant_approve(application=application, actor=operations)
            elif decision == "refuse":
                subsidies.grant_refuse(
                    application=application, actor=operations, reason="培训机构不在认证名单内，请补充认证证明后重新申请"
                )
    stdout.write(f"seed_demo: subsidies: {len(programmes)} programmes, {len(applications)} grant applications")
    return created
