"""Every staff action is declared once (`<app>/permissions.py`), and the admin, the API and
pages decide from that declaration alone: for every staff group, each action is refused (403,
nothing changed) in the admin exactly when it is refused in the API.

What the admin and the API expose is found by introspection (the admin site's registry and
each admin's URLs, object actions and bulk actions; the URL resolver's API routes and each
viewset's `staff_actions`), so a new admin action, admin page or staff API action that is not
declared fails here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import SKU, Category, Product, ProductRevision
from marketplace.api import HasStaffAction
from marketplace.staff_actions import StaffAction, declared
from merchants import permissions as merchant_permissions
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.choices import MerchantStatus
from merchants.models import BankAccountChange, ContractAmendment, Merchant, MerchantDocument
from orders import permissions as order_permissions
from orders.choices import RefundStatus
from orders.models import AfterSalesPhoto, Complaint, Dispute, MerchantOrder, OrderLine, Refund, Review
from promotions import permissions as promotion_permissions
from promotions import services as promotion_services
from promotions.models import FlashSale, GroupBuyCampaign, Promotion
from risk.models import RenewalCase, RequalificationReview, RiskAlert
from settlements import permissions as settlement_permissions
from settlements import services as settlement_services
from settlements.models import (
    DryRun,
    FeeCharge,
    GrantApplication,
    Payout,
    PayoutBatch,
    PayoutHold,
    Penalty,
    SettlementRun,
    Statement,
)
from tests.access_world import payout_hold, quality_evaluation, quality_renewal, risk_alert, subsidy_grant
from tests.catalog.test_admin import submitted, with_revision
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.promotions.flash_factories import live_sale
from tests.promotions.pages_factories import platform_promotion
from tests.settlements.test_admin import World as SettlementWorld

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"marketplace", "merchants", "catalog", "promotions", "orders", "settlements", "risk"}
#: Django's own pages of a ModelAdmin: they follow the model's permissions (the declaration
#: Django makes for plain records), unless the admin names a declaration (view_action, add_action).
STANDARD_ADMIN_PAGES = ("changelist", "add", "history", "delete", "change")
#: The staff groups of marketplace.roles, a superuser, and staff of no group.
IDENTITIES = ["reviewer", "operations", "finance", "superuser", "no_group"]


@pytest.fixture(autouse=True)
def _media_and_tasks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from marketplace.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def identity(name: str):
    if name == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory(is_staff=True)
    if name != "no_group":
        user.groups.add(Group.objects.get(name=name))
    return user


# --- What the admin exposes ------------------------------------------------------------------


@dataclass(frozen=True)
class AdminEntry:
    action: StaffAction
    model: type
    url_name: str
    kwargs: tuple[str, ...]  # the URL's parameters
    methods: tuple[str, ...]


def _project_admins():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in PROJECT_APPS:
            yield model, model_admin


def _superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory.build(is_staff=True, is_superuser=True, is_active=True)
    return request


def _django_own(view) -> bool:
    """A page Django's admin itself defines (the user admin's password page): it follows the
    model's permissions, as Django declares them."""
    return view.__module__.startswith("django.")


def admin_inventory() -> tuple[list[AdminEntry], list[str]]:
    """Every declared admin entry, and every admin action or page that names no declaration."""
    entries, undeclared = [], []
    for model, model_admin in _project_admins():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        standard = {f"{info}_{page}" for page in STANDARD_ADMIN_PAGES}
        for pattern in model_admin.get_urls():
            declared_action = getattr(pattern.callback, "staff_action", None)
            params = tuple(pattern.pattern.converters)
            if declared_action is not None:
                entries.append(AdminEntry(declared_action, model, pattern.name, params, ("get", "post")))
            elif pattern.name is not None and pattern.name not in standard and not _django_own(pattern.callback):
                undeclared.append(f"admin page {pattern.name}")
        for action in getattr(model_admin, "object_actions", []):
            if not isinstance(action.staff_action, StaffAction):
                undeclared.append(f"object action {info}.{action.name}")
        # A service-backed add page (its own add_view) is a staff action, declared as add_action.
        if not _django_own(type(model_admin).add_view):
            add_action = getattr(model_admin, "add_action", None)
            if add_action is None:
                undeclared.append(f"add page of {info}")
            else:
                entries.append(AdminEntry(add_action, model, f"{info}_add", (), ("get", "post")))
        view_action = getattr(model_admin, "view_action", None)
        if view_action is not None:
            entries.append(AdminEntry(view_action, model, f"{info}_changelist", (), ("get",)))
            entries.append(AdminEntry(view_action, model, f"{info}_change", ("object_id",), ("get",)))
        for name, (func, _name, _label) in model_admin.get_actions(_superuser_request()).items():
            # Django's bulk delete is the delete page for many rows (the model's delete permission).
            if name != "delete_selected" and not isinstance(getattr(func, "staff_action", None), StaffAction):
                undeclared.append(f"bulk action {info}.{name}")
    return entries, undeclared


# --- What the API exposes --------------------------------------------------------------------


@dataclass(frozen=True)
class ApiEntry:
    action: StaffAction | None  # None: no declaration (not a staff action)
    view: type
    view_action: str
    url_name: str
    kwargs: tuple[str, ...]
    method: str


def _api_patterns(resolver: URLResolver | None = None, prefix: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_patterns(entry, route)
        elif isinstance(entry, URLPattern) and route.lstrip("^").startswith("api/"):
            yield entry


def api_inventory() -> list[ApiEntry]:
    entries = []
    for pattern in _api_patterns():
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            continue
        # A viewset routes methods to actions; a plain APIView's "actions" are its methods.
        mapping = getattr(pattern.callback, "actions", None) or {
            method: method for method in ("get", "post", "put", "patch", "delete") if hasattr(view, method)
        }
        params = tuple(pattern.pattern.regex.groupindex)
        for method, view_action in mapping.items():
            if method == "head":
                continue  # DRF answers HEAD with the GET's view and checks
            declared_action = getattr(view, "staff_actions", {}).get(view_action)
            entries.append(ApiEntry(declared_action, view, view_action, pattern.name, params, method))
    return entries


# --- The objects acted on --------------------------------------------------------------------


class World:
    """One record of every kind a staff action acts on, each in a state the action accepts."""

    def __init__(self):
        settlement = SettlementWorld(dispute=True)
        approver = identity("finance")
        # Shop B's statement is approved and in a batch at the bank; shop A's waits for review.
        settlement_services.statement_approve(statement=settlement.sb, actor=approver)
        self.batch = settlement_services.payout_batch_create(actor=approver)
        shop, categories = settlement.a.merchant, list(Category.objects.order_by("pk")[:1])
        self.objects = {
            Merchant: merchant_in_state(MerchantStatus.SUBMITTED),
            Product: submitted(shop, categories[0], title="Kettle"),
            ProductRevision: with_revision(shop, categories[0], title="Teapot"),
            Category: categories[0],
            Dispute: settlement.dispute,
            Statement: settlement.sa,
            SettlementRun: settlement.run,
            PayoutBatch: self.batch,
            Payout: self.batch.payouts.get(),
            # A refund the gateway refused: the one state in which it can be sent again.
            # A platform promotion in draft (the actions refused in its state answer 409 or redirect).
            Promotion: platform_promotion(),
            Refund: Refund.objects.create(
                merchant_order=MerchantOrder.objects.filter(merchant=shop).order_by("pk").first(),
                amount=Decimal("1.00"),
                reason="World",
                reference="world-refund-failed",
                completed_at=timezone.now(),
                status=RefundStatus.FAILED,
                attempts=1,
                last_error="declined",
            ),
            # A flash sale on now, not paused (pausing is its staff action).
            FlashSale: live_sale(),
        }
        # A live group buy of one of shop A's SKUs (operations pause, end it and set its share).
        self.objects[GroupBuyCampaign] = promotion_services.group_buy_create(
            merchant=shop,
            actor=shop.owner,
            sku_id=SKU.objects.filter(merchant=shop).order_by("pk").first().pk,
            name="World group buy",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=7),
            steps=[(2, "10")],
        )
        # An appealed penalty of shop A with an evidence file (operations decide it; issue #14).
        penalty = settlement_services.penalty_raise(
            merchant=shop,
            kind="fake_shipment",
            amount="10.00",
            reason="World",
            actor=approver,
            evidence=[ContentFile(b"%PDF-1.4\n%%EOF\n", name="w.pdf")],
        )
        self.objects[Penalty] = settlement_services.penalty_appeal(
            penalty=penalty, merchant=shop, actor=shop.owner, statement="World"
        )
        self.objects[FeeCharge] = settlement_services.fee_charge_record(
            merchant=shop, kind="homepage_slot", amount="1.00", description="World", reference="world", actor=approver
        )
        # A submitted grant application of shop A with its invoice (issue #14).
        self.objects[GrantApplication] = subsidy_grant(shop)
        # An open requalification review and a pending renewal of shop A (issue #15).
        self.objects[RequalificationReview] = RequalificationReview.objects.create(
            evaluation=quality_evaluation(shop, "2026Q3", "70.00"), merchant=shop
        )
        self.objects[RenewalCase] = quality_renewal(shop)
        # A shown review and an open complaint of shop A (operations hide one, handle the
        # other; issue #16). Written as rows: the world's orders are not all completed.
        line = OrderLine.objects.filter(merchant=shop, review__isnull=True).select_related("sku").order_by("pk").first()
        buyer = line.merchant_order.buyer_order.buyer
        self.objects[Review] = Review.objects.create(
            order_line=line, merchant=shop, product_id=line.sku.product_id, buyer=buyer, rating=1, text="World"
        )
        self.objects[Complaint] = Complaint.objects.create(
            merchant_order=line.merchant_order,
            merchant=shop,
            buyer=buyer,
            category="service",
            text="World",
            respond_by=timezone.now() + timedelta(hours=72),
        )
        # An open risk alert of shop A, and an open payout hold of shop A (issue #15).
        self.objects[RiskAlert] = risk_alert(shop)
        self.objects[PayoutHold] = payout_hold(shop)
        self.document = MerchantDocument.objects.filter(merchant=self.objects[Merchant]).first()
        # Shop A's changes after approval (issue #15): a new bank account and a renewed licence
        # waiting for staff, and a contract amendment waiting for the merchant.
        self.objects[BankAccountChange] = merchant_services.bank_change_request(
            merchant=shop,
            actor=shop.owner,
            bank_account_name="World Ltd",
            bank_name="World Bank",
            bank_account_number="6214830012345678",
        )
        licence = shop.documents.filter(status="current").order_by("pk").first()
        MerchantDocument.objects.filter(pk=licence.pk).update(expires_on=timezone.localdate() + timedelta(days=5))
        self.objects[MerchantDocument] = merchant_services.document_renew(
            merchant=shop,
            actor=shop.owner,
            document=MerchantDocument.objects.get(pk=licence.pk),
            uploaded=ContentFile(b"%PDF-1.4\n%%EOF\n", name="renewal.pdf"),
            expires_on=timezone.localdate() + timedelta(days=365),
        )
        self.objects[ContractAmendment] = merchant_services.amendment_propose(
            contract=merchant_selectors.current_contract(shop),
            actor=approver,
            reason="World",
            settlement_days=30,
        )
        # The buyer's photo on the disputed request (served by orders.views.after_sales_photo).
        self.photo = AfterSalesPhoto.objects.create(
            request=settlement.dispute.request, sha256="0" * 64, image=ContentFile(b"\xff\xd8\xff", name="p.jpg")
        )

    def pk(self, model) -> int:
        assert model in self.objects, f"Add a {model.__name__} to the World of {__name__}."
        return self.objects[model].pk

    def admin_url(self, entry: AdminEntry) -> str:
        fill = {
            "object_id": lambda: self.pk(entry.model),
            "image_id": lambda: self.objects[Product].images.order_by("pk").first().pk,
            "size": lambda: "small",
            "penalty_id": lambda: self.objects[Penalty].pk,
            "file_id": lambda: self.objects[Penalty].files.order_by("pk").first().pk,
            "grant_document_id": lambda: self.objects[GrantApplication].documents.get().pk,
            "dry_run_id": lambda: DryRun.objects.get_or_create(period="2026-10", defaults={"state": "completed"})[0].pk,
        }
        missing = set(entry.kwargs) - set(fill)
        assert not missing, f"Tell the World how to fill {missing} of {entry.url_name}."
        return reverse(f"admin:{entry.url_name}", kwargs={k: fill[k]() for k in entry.kwargs})

    def api_url(self, entry: ApiEntry) -> str:
        kwargs = {}
        for name in entry.kwargs:
            assert name == "pk", f"Tell the World how to fill {name} of {entry.url_name}."
            kwargs["pk"] = self.pk(VIEW_MODELS[entry.view.__name__])
        return reverse(entry.url_name, kwargs=kwargs)


#: The records of each staff viewset (their ids fill the API's URLs).
VIEW_MODELS = {
    "ApplicationViewSet": Merchant,
    "SettlementRunViewSet": SettlementRun,
    "StatementViewSet": Statement,
    "PayoutBatchViewSet": PayoutBatch,
}


def snapshot() -> dict:
    """Every row of every project model: what any staff action could change."""
    state = {}
    for model in apps.get_models():
        # Models of the apps' own code (tests may register throwaway models under an app).
        own = model.__module__.startswith(tuple(f"{app}." for app in PROJECT_APPS))
        if model._meta.app_label in PROJECT_APPS and own and not model._meta.proxy:
            state[model._meta.label] = list(model.objects.order_by("pk").values_list())
    return state


# --- Static: everything is declared ----------------------------------------------------------


def test_every_admin_action_bulk_action_and_page_is_declared():
    entries, undeclared = admin_inventory()
    assert undeclared == []
    registry = declared()
    for entry in entries:
        assert registry.get(entry.action.name) is entry.action, entry
    # Each object action shows the record it acts on: its declaration includes viewing it.
    for model, model_admin in _project_admins():
        for action in getattr(model_admin, "object_actions", []):
            view = f"{model._meta.app_label}.view_{model._meta.model_name}"
            assert view in action.staff_action.permissions, (model_admin, action.name)


def test_every_staff_api_action_is_declared():
    registry = declared()
    staff_views = set()
    for entry in api_inventory():
        if entry.action is not None:
            staff_views.add(entry.view)
            assert registry.get(entry.action.name) is entry.action, entry
    assert {v.__name__ for v in staff_views} == set(VIEW_MODELS)
    for view in staff_views:
        # Staff act through declared actions only: the views use the declarations' permission
        # class, and declare nothing the router does not route.
        routed = {e.view_action for e in api_inventory() if e.view is view}
        assert set(view.staff_actions) <= routed, view
        for view_action in view.staff_actions:
            instance = view(action=view_action, request=None, format_kwarg=None)
            instance.action = view_action
            assert any(isinstance(p, HasStaffAction) for p in instance.get_permissions()), (view, view_action)


def test_no_api_action_gives_staff_more_than_a_buyer_unless_declared(client):
    """The safety net for a staff endpoint checked some other way (is_staff, IsAdminUser): an
    undeclared route answers a superuser no better than a buyer."""
    world = World()
    for entry in api_inventory():
        if entry.action is not None or set(entry.kwargs) - {"pk"}:
            continue
        if entry.kwargs and entry.view.__name__ not in VIEW_MODELS:
            continue
        url = world.api_url(entry)
        answers = {}
        for who in ("superuser", "buyer"):
            api = APIClient()
            api.force_authenticate(identity(who) if who == "superuser" else UserFactory())
            answers[who] = getattr(api, entry.method)(url, {}, format="json").status_code
        assert not (answers["superuser"] < 300 <= answers["buyer"]), (entry, answers)


def test_every_declaration_is_used_and_names_existing_permissions():
    admin_entries, _ = admin_inventory()
    used = {e.action.name for e in admin_entries} | {e.action.name for e in api_inventory() if e.action}
    used |= {action.staff_action.name for _m, ma in _project_admins() for action in getattr(ma, "object_actions", [])}
    used.add(merchant_permissions.DOCUMENT_VIEW.name)  # the document download page (merchants.views)
    used.add(order_permissions.AFTER_SALES_PHOTO_VIEW.name)  # the after-sales photo page (orders.views)
    used.add(promotion_permissions.MARKETING_VIEW.name)  # the marketing pages (promotions.admin.marketing)
    # The dashboards (issue #16): orders.operations_dashboard, settlements.admin.finance_dashboard.
    used.add(order_permissions.OPERATIONS_DASHBOARD_VIEW.name)
    used.add(settlement_permissions.FINANCE_DASHBOARD_VIEW.name)
    registry = declared()
    assert set(registry) == used
    for action in registry.values():
        for entry in action.permissions:
            app_label, codename = entry.split(".")
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), entry


# --- Behaviour: the admin and the API agree for every group ----------------------------------


def _refused(response, before) -> bool:
    assert response.status_code < 500, response
    if response.status_code != 403:
        return False
    assert snapshot() == before
    return True


@pytest.mark.parametrize("who", IDENTITIES)
def test_admin_api_and_pages_refuse_exactly_what_the_declaration_refuses(client, who):
    world = World()
    user = identity(who)
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    outcomes: dict[str, dict[str, bool]] = defaultdict(dict)
    actions: dict[str, StaffAction] = {}

    admin_entries, _ = admin_inventory()
    for entry in admin_entries:
        url = world.admin_url(entry)
        for method in entry.methods:
            before = snapshot()
            outcomes[entry.action.name][f"admin {method} {url}"] = _refused(getattr(client, method)(url), before)
            actions[entry.action.name] = entry.action
    for entry in (e for e in api_inventory() if e.action is not None):
        url = world.api_url(entry)
        before = snapshot()
        response = getattr(api, entry.method)(url, {}, format="json")
        refused = _refused(response, before)
        if refused:
            assert response.json()["code"] == "permission_denied"
        outcomes[entry.action.name][f"api {entry.method} {url}"] = refused
        actions[entry.action.name] = entry.action
    document = f"/portal/documents/{world.document.pk}/"
    before = snapshot()
    outcomes[merchant_permissions.DOCUMENT_VIEW.name][f"page get {document}"] = _refused(client.get(document), before)
    actions[merchant_permissions.DOCUMENT_VIEW.name] = merchant_permissions.DOCUMENT_VIEW
    photo, photo_view = f"/after-sales/photos/{world.photo.pk}/", order_permissions.AFTER_SALES_PHOTO_VIEW
    before = snapshot()
    outcomes[photo_view.name][f"page get {photo}"] = _refused(client.get(photo), before)
    actions[photo_view.name] = photo_view
    marketing, marketing_view = reverse("promotions_marketing:list"), promotion_permissions.MARKETING_VIEW
    before = snapshot()
    outcomes[marketing_view.name][f"page get {marketing}"] = _refused(client.get(marketing), before)
    actions[marketing_view.name] = marketing_view
    for url, dashboard in (
        (reverse("operations_dashboard:index"), order_permissions.OPERATIONS_DASHBOARD_VIEW),
        (reverse("finance_dashboard:index"), settlement_permissions.FINANCE_DASHBOARD_VIEW),
    ):
        before = snapshot()
        outcomes[dashboard.name][f"page get {url}"] = _refused(client.get(url), before)
        actions[dashboard.name] = dashboard

    assert set(actions) == set(declared())
    for name, results in outcomes.items():
        expected = not actions[name].allows(user)
        assert results == dict.fromkeys(results, expected), name
    policy = set(declared()) if who == "superuser" else ALLOWED[who]
    assert {name for name, action in actions.items() if action.allows(user)} == policy


REVIEW = {
    "merchants.merchant_view",
    "merchants.application_start_review",
    "merchants.application_approve",
    "merchants.application_reject",
    "merchants.application_request_changes",
    "merchants.merchant_suspend",
    "merchants.merchant_reinstate",
    "merchants.merchant_terminate",
    "merchants.merchant_change_tier",
    "merchants.document_view",
    "merchants.amendment_view",  # issue #15: both read the contract amendments
}
FINANCE = {
    "merchants.merchant_view",
    "merchants.deposit_record_payment",
    "merchants.deposit_deduct",
    "merchants.deposit_refund",
    "settlements.run_view",
    "settlements.run_start",
    "settlements.statement_view",
    "settlements.statement_approve",
    "settlements.reconcile",
    "settlements.invoice_issue",
    "settlements.invoice_download",
    "settlements.adjustment_create",
    "settlements.payout_batch_view",
    "settlements.payout_batch_create",
    "settlements.payout_batch_export",
    "settlements.payout_results_import",
    "settlements.payout_mark_paid",
    "settlements.payout_mark_failed",
    # Issue #14: finance reads penalties and charges and takes a standing penalty from the deposit.
    "settlements.penalty_view",
    "settlements.penalty_deduct_deposit",
    "settlements.fee_charge_view",
    # Issue #16: the finance page of a period.
    "settlements.finance_dashboard_view",
    # Issue #16: the period exports (statements, reconciliation, journal).
    "settlements.period_export",
    # Issue #15: finance verifies the merchants' new bank accounts.
    "merchants.bank_change_view",
    "merchants.bank_change_approve",
    "merchants.bank_change_refuse",
}
#: The policy the staff groups of marketplace.roles amount to, action by action.
ALLOWED = {
    "reviewer": REVIEW
    # Issue #15: reviewers work the requalification reviews.
    | {"risk.requalification_view", "risk.requalification_decide"}
    | {
        "merchants.category_grants_set",
        "merchants.document_renewal_accept",  # issue #15
        "merchants.document_renewal_refuse",
        "catalog.product_view",
        "catalog.product_approve",
        "catalog.product_reject",
        "catalog.product_feature",
        "catalog.product_unfeature",
        "catalog.revision_approve",
        "catalog.revision_reject",
    },
    "operations": REVIEW
    | {"catalog.category_set_rate", "orders.dispute_resolve", "orders.after_sales_photo_view"}
    # Issue #16: operations hide malicious reviews and handle complaints.
    | {"orders.review_moderate", "orders.complaint_handle"}
    | {"merchants.amendment_propose"}  # issue #15
    | {
        "promotions.promotion_activate",
        "promotions.promotion_approve",
        "promotions.promotion_reject",
        "promotions.promotion_pause",
        "promotions.promotion_resume",
        "promotions.promotion_end",
        "promotions.rfm_export",
        "promotions.flash_sale_pause",
        "promotions.group_buy_pause",
        "promotions.group_buy_resume",
        "promotions.group_buy_end",
        "promotions.group_buy_set_platform_share",
        "promotions.marketing_view",
        # Issue #16: the operations dashboard.
        "orders.operations_dashboard_view",
    }
    # Issue #14: operations raise penalties, decide appeals, record value-added charges, and
    # read and decide the subsidy grant applications.
    | {
        "settlements.penalty_view",
        "settlements.penalty_raise",
        "settlements.penalty_decide",
        "settlements.fee_charge_view",
        "settlements.fee_charge_record",
        "settlements.grant_view",
        "settlements.grant_decide",
    }
    # Issue #15: operations read the requalification reviews, decide the renewals and work
    # the risk alert queue.
    | {"risk.requalification_view", "risk.renewal_view", "risk.renewal_decide", "risk.renewals_evaluate_due"}
    | {"risk.alert_view", "risk.alert_acknowledge", "risk.alert_resolve", "risk.alert_assign"},
    # Issue #15: finance release payout holds.
    "finance": FINANCE
    | {"orders.refund_retry", "settlements.grant_view"}
    | {"settlements.payout_hold_view", "settlements.payout_hold_release"},
    "no_group": set(),
}  # a superuser: every declared action
