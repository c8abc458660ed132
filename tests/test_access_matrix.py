"""The access matrix: every URL pattern and API operation × every identity, in one table.

Discovery walks the URL resolver (admin included) and the OpenAPI schema; a route or an
operation without a row fails, and so does a row naming a route that no longer exists. Each
row names who may do what through a named policy (PUBLIC, LOGIN_REQUIRED, BUYER_OWN,
portal(section), api_finance(perms), …); the admin's rows are generated from the registered
ModelAdmins and the staff groups' permissions declared in marketplace/roles.py.

Every (route, identity) pair is one test: GET, HEAD (pages) and the route's unsafe methods are
requested by that identity against one shared world (tests/access_world.py), each test in its
own savepoint. A refused unsafe request must change nothing (the transaction's row counters
are compared); an allowed one must get past the permission checks (a 400 for an empty body is
fine). House rules encoded: a merchant never sees another merchant's rows (404); a member whose
role does not cover a portal section gets 404; staff without a permission get 403; buyer pages
answer 404 to anyone but the buyer (staff too: they use the admin).

Rows marked "(issue #10)" encode the behaviour its fixes brought: the sandbox exists only
when enabled, staff actions and identity documents follow their declared permissions, and
every id in an API path is typed (a non-numeric one is a JSON 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client, TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from marketplace.roles import ROLE_PERMISSIONS
from tests.access_world import (
    ANON,
    BUYER,
    BUYER2,
    FINANCE,
    IDENTITIES,
    M_CATALOG,
    M_FINANCE,
    M_ORDERS,
    OPERATIONS,
    OTHER,
    OWNER,
    REVIEWER,
    STAFF_GROUPS,
    SUPER,
    build_world,
)

# --- Answers ------------------------------------------------------------------------------------

LOGIN = "302 to /accounts/login/"
ADMIN_LOGIN = "302 to /admin/login/"
REDIRECT = "302 elsewhere"
#: An allowed unsafe request: past the permission checks (2xx, a redirect that is not to a login
#: page, or a refusal of the empty body or of the world's state: 400, 409, 415, 422).
OK = "allowed"
REFUSALS = {LOGIN, ADMIN_LOGIN, 401, 403, 404, 405}

STAFF = [REVIEWER, OPERATIONS, FINANCE, SUPER]
M_MEMBERS = [OWNER, M_CATALOG, M_ORDERS, M_FINANCE]
NON_STAFF = [BUYER, BUYER2, *M_MEMBERS, OTHER]
LOGGED_IN = [*NON_STAFF, *STAFF]

#: Which of the owner merchant's members each portal section is for (the owner: all of them).
#: The other merchant's owner reaches every section of its own merchant.
SECTIONS = {
    "dashboard": {OWNER, M_CATALOG, M_ORDERS, M_FINANCE},
    "application": {OWNER},
    "contract": {OWNER},
    "deposit": {OWNER, M_FINANCE},
    "bank_account": {OWNER, M_FINANCE},
    "members": {OWNER},
    "shop": {OWNER, M_CATALOG},
    "catalog": {OWNER, M_CATALOG},
    "orders": {OWNER, M_ORDERS},
    "finance": {OWNER, M_FINANCE},
    "promotions": {OWNER, M_CATALOG},
}


def staff_has(identity: str, *perms: str) -> bool:
    """Whether a staff identity holds every permission, as marketplace/roles.py declares."""
    if identity == SUPER:
        return True
    if identity not in STAFF_GROUPS:
        return False
    return set(perms) <= set(ROLE_PERMISSIONS[STAFF_GROUPS[identity]])


# --- Policies -----------------------------------------------------------------------------------


@dataclass
class Access:
    """Who is refused, and how: `gate` before the view does anything (login, role, staff
    permission), `obj` when the object named in the URL is looked up (not theirs)."""

    gate: dict = field(default_factory=dict)
    obj: dict = field(default_factory=dict)

    def answer(self, identity: str, allowed):
        return self.gate.get(identity) or self.obj.get(identity) or allowed


def _refuse(identities, answer) -> dict:
    return dict.fromkeys(identities, answer)


PUBLIC = Access()
LOGIN_REQUIRED = Access({ANON: LOGIN})
#: The buyer's own order, address, payment…: anyone else, staff included, gets 404.
BUYER_OWN = Access({ANON: LOGIN}, _refuse([i for i in LOGGED_IN if i != BUYER], 404))


def portal(section: str, *, own: bool = True) -> Access:
    """A merchant portal page of `section`; `own`: it names one of the owner merchant's rows."""
    gate = {ANON: LOGIN, **_refuse([BUYER, BUYER2, *STAFF], 404)}
    gate.update(_refuse([m for m in M_MEMBERS if m not in SECTIONS[section]], 404))
    return Access(gate, {OTHER: 404} if own else {})


API_PUBLIC = Access()
API_AUTH = Access({ANON: 401})
#: The buyer endpoints: staff use the admin (404).
API_BUYER = Access({ANON: 401, **_refuse(STAFF, 404)})
API_BUYER_OWN = Access(API_BUYER.gate, _refuse([i for i in NON_STAFF if i != BUYER], 404))
#: A user's own rows (notifications, issue #16): everyone signed in has some; another's is not found.
USER_OWN = Access({ANON: LOGIN}, _refuse([i for i in LOGGED_IN if i != BUYER], 404))
API_USER_OWN = Access({ANON: 401}, _refuse([i for i in LOGGED_IN if i != BUYER], 404))


def api_member(section: str, *, own: bool = True) -> Access:
    """A merchant endpoint for members whose role covers `section` (others: 404)."""
    gate = {ANON: 401, **_refuse([BUYER, BUYER2, *STAFF], 404)}
    gate.update(_refuse([m for m in M_MEMBERS if m not in SECTIONS[section]], 404))
    return Access(gate, {OTHER: 404} if own else {})


def api_finance(*perms: str) -> Access:
    """Finance staff endpoints: non-staff 404 (nothing of theirs here), staff without `perms` 403."""
    gate = {ANON: 401, **_refuse(NON_STAFF, 404)}
    gate.update(_refuse([s for s in STAFF if not staff_has(s, *perms)], 403))
    return Access(gate)


def api_statements(*perms: str, own: bool = True) -> Access:
    """Statements: finance staff (others 403) and the members of the finance section."""
    gate = {ANON: 401, **_refuse([BUYER, BUYER2], 404)}
    gate.update(_refuse([s for s in STAFF if not staff_has(s, *perms)], 403))
    gate.update(_refuse([m for m in M_MEMBERS if m not in SECTIONS["finance"]], 404))
    return Access(gate, {OTHER: 404} if own else {})


def api_staff_review() -> Access:
    """The review actions of an application: staff holding merchants.change_merchant (issue #10,
    b: finance, without it, gets 403 like in the admin); anyone else 403."""
    gate = {ANON: 401, **_refuse(NON_STAFF, 403)}
    gate.update(_refuse([s for s in STAFF if not staff_has(s, "merchants.change_merchant")], 403))
    return Access(gate)


#: The application's own actions (owner only): staff may read it but not change it (403).
API_APPLICANT = Access(
    {ANON: 401},
    {**_refuse([BUYER, BUYER2, M_CATALOG, M_ORDERS, M_FINANCE, OTHER], 404), **_refuse(STAFF, 403)},
)


# --- Rows ---------------------------------------------------------------------------------------


@dataclass
class Row:
    """One route: the methods it offers, each with its access and the allowed identities' answer."""

    ops: dict  # method → (Access, answer of an identity the access lets through)
    #: Who is refused before a method the route does not offer answers 405 (None: 405 for all).
    wrong: Access | None = None
    #: The URL's kwargs from the world's objects, when the defaults (world.kwargs) do not fit.
    kwargs: Callable | None = None
    #: Exists only while settings.SANDBOX_GATEWAY_ENABLED (issue #10): tested on and off.
    sandbox: bool = False
    api: bool = False

    def expect(self, method: str, identity: str):
        if method in self.ops:
            access, allowed = self.ops[method]
            return access.answer(identity, allowed)
        if self.wrong is None:
            return 405
        return self.wrong.gate.get(identity) or 405


def page(access: Access, *, get=200, post=None, head=True, method_first=False, **kwargs) -> Row:
    """An HTML page. `post`: the answer to an allowed POST (None: not offered); `head=False`:
    the view takes GET and POST only; `method_first`: a wrong method is refused before login."""
    ops = {}
    if get is not None:
        ops["GET"] = (access, get)
        if head:
            ops["HEAD"] = (access, get)
    if post is not None:
        ops["POST"] = (access, post)
    return Row(ops, wrong=None if method_first else Access(access.gate), **kwargs)


def action(access: Access, **kwargs) -> Row:
    """A POST-only page whose method check comes before any other (`@require_POST` outermost)."""
    return page(access, get=None, post=OK, method_first=True, **kwargs)


def api(*, wrong: Access | None = None, kwargs=None, sandbox=False, **ops) -> Row:
    """API operations, `get=(access, answer)`, `post=…`. A method the route does not offer
    answers 405 to everyone (marketplace.api.exception_handler), unless `wrong` names the
    refusals that come first (a view outside DRF)."""
    ops = {method.upper(): spec for method, spec in ops.items()}
    return Row(ops, wrong=wrong, kwargs=kwargs, sandbox=sandbox, api=True)


def _o(name: str, attr: str = "pk"):
    """kwargs from one world object: `_o("unpaid", "number")` → lambda giving its number."""
    return lambda objects: getattr(objects[name], attr)


ROUTES: dict[str, Row] = {
    # --- Accounts and site ---------------------------------------------------------------------
    "healthz": page(PUBLIC, head=False, method_first=True),
    # Signed-in users are sent home.
    "signup": page(Access(_refuse(LOGGED_IN, REDIRECT)), post=OK, head=False, method_first=True),
    "signup_done": page(PUBLIC, head=False),
    # The e-mailed link: a GET shows a button, the POST with a bad link is refused (400).
    "signup_confirm": page(PUBLIC, post=OK, head=False, kwargs=lambda o: {"token": "bad-token"}),
    "login": page(
        Access(_refuse(LOGGED_IN, REDIRECT)),
        post=OK,  # redirect_authenticated_user
    ),
    "logout": page(PUBLIC, get=None, post=OK, method_first=True),
    "password_reset": page(PUBLIC, post=OK),
    "password_reset_done": page(PUBLIC),
    "password_reset_confirm": page(PUBLIC, post=OK, kwargs=lambda o: {"uidb64": "MQ", "token": "bad-token"}),
    "password_reset_complete": page(PUBLIC),
    "set_language": page(PUBLIC, get=REDIRECT, post=OK),
    "api-schema": page(PUBLIC, head=True, method_first=True),
    "api-docs": page(PUBLIC, head=True, method_first=True),
    # --- Storefront ------------------------------------------------------------------------------
    "home": page(PUBLIC, method_first=True),
    "search": page(PUBLIC, method_first=True),
    "category_page": page(PUBLIC, method_first=True, kwargs=lambda o: {"slug": o["category"].slug}),
    "product_page": page(PUBLIC, method_first=True),
    "product_image": page(PUBLIC, method_first=True, kwargs=lambda o: {"image_id": o["image"].pk, "size": "small"}),
    # A catalog listing page (catalog.views.shop_page): GET and HEAD only, like the others.
    "shop_page": page(PUBLIC, method_first=True, kwargs=lambda o: {"slug": o["merchant"].slug}),
    "shop_logo": page(PUBLIC, post=200),
    "promotions:list": page(PUBLIC, method_first=True),
    "promotions:page": page(PUBLIC, method_first=True),
    # --- Group buys (issue #13): public pages; joining needs a signed-in user ---------------------
    "group_buys:campaign": page(PUBLIC, method_first=True),
    "group_buys:group": page(PUBLIC, method_first=True),
    "group_buys:join": page(LOGIN_REQUIRED, get=None, post=OK),
    # --- Buyer pages -----------------------------------------------------------------------------
    "orders:cart": page(PUBLIC, method_first=True),
    # The flash-sale page; joining needs a login, and staff are not buyers (404).
    "promotions:flash_sales": page(PUBLIC, method_first=True),
    "promotions:flash_sale_join": action(Access({ANON: LOGIN}, _refuse(STAFF, 404))),
    "orders:cart_add": page(PUBLIC, get=None, post=OK, method_first=True),
    "orders:cart_update": page(PUBLIC, get=None, post=OK, method_first=True),
    "orders:cart_remove": page(PUBLIC, get=None, post=OK, method_first=True),
    "orders:checkout": page(LOGIN_REQUIRED, post=OK, head=False),
    # The buyer's own key leads to the order's payment page; any other key waits on its page.
    "orders:checkout_placing": page(Access({ANON: LOGIN}, {BUYER: REDIRECT})),
    "orders:sandbox_pay": page(BUYER_OWN, post=OK, head=False, sandbox=True),  # (issue #10)
    "orders:pay": page(BUYER_OWN, post=OK, head=False, kwargs=lambda o: {"number": o["unpaid"].number}),
    "orders:order_list": page(LOGIN_REQUIRED),
    # --- Notifications (issue #16): every signed-in user's own ---------------------------------
    "notifications:list": page(LOGIN_REQUIRED),
    "notifications:read": page(USER_OWN, get=None, post=OK),
    "notifications:read_all": page(LOGIN_REQUIRED, get=None, post=OK),
    "notifications:preferences": page(LOGIN_REQUIRED, post=OK),
    "orders:order_detail": page(BUYER_OWN),
    "orders:order_cancel": page(BUYER_OWN, get=None, post=OK),
    "orders:order_confirm": page(BUYER_OWN, get=None, post=OK),
    "orders:after_sales_new": page(BUYER_OWN, post=OK, head=False),
    "orders:complaint_new": page(BUYER_OWN, post=OK, head=False),
    "orders:after_sales_escalate": page(BUYER_OWN, post=OK, head=False),
    "orders:after_sales_withdraw": page(BUYER_OWN, get=None, post=OK),
    "orders:review_new": page(
        BUYER_OWN,
        post=OK,
        head=False,
        kwargs=lambda o: {"number": o["done"].number, "line_id": o["done_line"].pk},
    ),
    "orders:addresses": page(LOGIN_REQUIRED, post=OK, head=False),
    # Coupons: the centre is public; claiming needs a login and is for buyers (staff 404).
    "coupons:centre": page(PUBLIC, method_first=True),
    "coupons:claim": page(
        Access({ANON: LOGIN}, _refuse(STAFF, 404)),
        get=None,
        post=OK,
        kwargs=lambda o: {"promotion_id": o["coupon_promotion"].pk},
    ),
    "coupons:claim_code": page(Access({ANON: LOGIN}, _refuse(STAFF, 404)), get=None, post=OK),
    "coupons:mine": page(LOGIN_REQUIRED),
    "orders:address_edit": page(BUYER_OWN, post=OK, head=False),
    "orders:address_delete": page(BUYER_OWN, get=None, post=OK),
    "orders:address_default": page(BUYER_OWN, get=None, post=OK),
    # The buyer's own membership (the page reads only the signed-in user's).
    "members:membership": page(LOGIN_REQUIRED),
    # The buyer, the shop's members of the orders section, and staff who may view after-sales
    # requests or disputes; other staff 403 (they could see every buyer's photos before).
    # A shown review's picture of a public product: public, like the product's pictures.
    "orders:review_photo": page(PUBLIC, method_first=True, kwargs=lambda o: {"photo_id": o["review_photo"].pk}),
    "orders:after_sales_photo": page(
        Access(
            {
                ANON: LOGIN,
                **_refuse(
                    [
                        s
                        for s in STAFF
                        if not (staff_has(s, "orders.view_aftersalesrequest") or staff_has(s, "orders.view_dispute"))
                    ],
                    403,
                ),
            },
            _refuse([BUYER2, M_CATALOG, M_FINANCE, OTHER], 404),
        ),
        post=200,
    ),
    # --- Merchant portal -------------------------------------------------------------------------
    # Anyone signed in has a dashboard: a member their merchant's, anyone else the landing page.
    "portal:dashboard": page(LOGIN_REQUIRED, post=200),
    "portal:apply": page(Access({ANON: LOGIN}), get=REDIRECT, post=OK),
    # The wizard: a new applicant's form; the owner of a live shop is sent to the application;
    # members who are not the owner never edit it (404).
    "portal:apply_step": page(
        Access({ANON: LOGIN, **_refuse([M_CATALOG, M_ORDERS, M_FINANCE], 404), OWNER: REDIRECT, OTHER: REDIRECT}),
        post=OK,
    ),
    "portal:apply_submit": action(portal("application", own=False)),
    "portal:application": page(portal("application", own=False), post=200),
    # Identity documents (issue #10): the owner (members whose role covers the application),
    # and staff holding merchants.view_merchantdocument; other staff 403, anyone else 404.
    "portal:document": page(
        Access(
            {
                ANON: LOGIN,
                **_refuse([s for s in STAFF if not staff_has(s, "merchants.view_merchantdocument")], 403),
            },
            _refuse([BUYER, BUYER2, OTHER, *[m for m in M_MEMBERS if m not in SECTIONS["application"]]], 404),
        ),
        post=200,
    ),
    "portal:document_delete": action(portal("application")),
    # The merchant's changes after approval (issue #15): documents renewed by the owner, the
    # bank account changed by the owner or a finance member, amendments decided by the owner.
    "portal:documents": page(portal("application", own=False), post=200),
    "portal:document_renew": action(portal("application")),
    "portal:bank_account": page(portal("bank_account", own=False), post=OK),
    "portal:amendment_accept": action(portal("contract")),
    "portal:amendment_decline": action(portal("contract")),
    "portal:contract": page(portal("contract", own=False), post=OK),
    "portal:deposit": page(portal("deposit", own=False), post=200),
    "portal:deposit_pay": action(portal("deposit", own=False), sandbox=True),  # (issue #10)
    "portal:go_live": action(portal("application", own=False)),
    "portal:members": page(portal("members", own=False), post=OK),
    "portal:member_role": action(portal("members")),
    "portal:member_remove": action(portal("members")),
    "portal:invitation_revoke": action(portal("members")),
    # The token is the secret: whoever signed in holds it sees the invitation.
    "portal:invitation_accept": page(LOGIN_REQUIRED, post=OK),
    "portal:shop": page(portal("shop", own=False), post=OK),
    "portal_catalog:product_list": page(portal("catalog", own=False), post=200),
    "portal_catalog:product_create": page(portal("catalog", own=False), post=OK),
    "portal_catalog:product": page(portal("catalog"), post=OK),
    "portal_catalog:product_submit": action(portal("catalog")),
    "portal_catalog:product_withdraw": action(portal("catalog")),
    "portal_catalog:image_add": action(portal("catalog")),
    "portal_catalog:image_remove": action(portal("catalog")),
    "portal_catalog:sku_create": page(portal("catalog"), post=OK),
    "portal_catalog:sku_edit": page(portal("catalog"), post=OK),
    "portal_catalog:image": page(
        portal("catalog"), post=200, kwargs=lambda o: {"image_id": o["image"].pk, "size": "small"}
    ),
    "portal_catalog:stock": page(portal("catalog", own=False), post=200),
    "portal_catalog:stock_receive": action(portal("catalog", own=False)),
    "portal_catalog:stock_adjust": action(portal("catalog", own=False)),
    "portal_catalog:stock_import": page(portal("catalog", own=False), post=OK),
    "portal_catalog:stock_history": page(portal("catalog"), post=200),
    "portal_catalog:alerts": page(portal("catalog", own=False), post=200),
    "portal_group_buys:list": page(portal("catalog", own=False), post=OK),
    "portal_group_buys:detail": page(portal("catalog"), post=200),
    "portal_group_buys:pause": action(portal("catalog")),
    "portal_group_buys:resume": action(portal("catalog")),
    "portal_group_buys:end": action(portal("catalog")),
    "portal_orders:order_list": page(portal("orders", own=False), post=200),
    # Flash sales: the catalog section's (owner and catalog members).
    "portal_promotions:flash_list": page(portal("catalog", own=False), method_first=True),
    "portal_promotions:flash_create": page(portal("catalog", own=False), post=OK, head=False, method_first=True),
    "portal_promotions:flash_pause": action(portal("catalog")),
    "portal_orders:order": page(portal("orders"), post=200),
    "portal_orders:order_ship": action(portal("orders")),
    "portal_orders:ship_import": page(portal("orders", own=False), post=OK),
    "portal_orders:merge": page(portal("orders", own=False), post=OK),
    "portal_orders:shipping_rate": page(portal("orders", own=False), post=OK),
    "portal_orders:after_sales": page(portal("orders", own=False), post=200),
    "portal_orders:after_sales_detail": page(portal("orders"), post=200),
    "portal_orders:after_sales_accept": action(portal("orders")),
    "portal_orders:after_sales_reject": action(portal("orders")),
    "portal_orders:after_sales_return_received": action(portal("orders")),
    "portal_orders:reviews": page(portal("orders", own=False), post=200),
    "portal_orders:review_reply": action(portal("orders"), kwargs=lambda o: {"review_id": o["review"].pk}),
    "portal_orders:complaints": page(portal("orders", own=False), post=200),
    "portal_promotions:list": page(portal("promotions", own=False), post=200),
    "portal_promotions:create": page(portal("promotions", own=False), post=OK),
    "portal_promotions:detail": page(portal("promotions"), post=200),
    # The world's promotion is active: its settings are no longer editable (back to its page).
    "portal_promotions:edit": page(portal("promotions"), get=REDIRECT, post=OK),
    "portal_promotions:publish": action(portal("promotions")),
    "portal_promotions:pause": action(portal("promotions")),
    "portal_promotions:resume": action(portal("promotions")),
    "portal_promotions:end": action(portal("promotions")),
    "portal_statements:list": page(portal("finance", own=False), post=200),
    # Merchant quality (issue #15): every member sees its own merchant's rating.
    "portal_quality:rating": page(portal("dashboard", own=False), post=200),
    "portal_statements:detail": page(portal("finance"), post=200),
    "portal_statements:csv": page(portal("finance"), post=200),
    "portal_statements:pdf": page(portal("finance"), post=200),
    "portal_statements:invoice_pdf": page(portal("finance"), post=200),
    # Penalties and service fees (issue #14): the world's penalty is the owner's, open for appeal.
    "portal_statements:penalties": page(portal("finance", own=False), post=200),
    "portal_statements:penalty": page(portal("finance"), post=OK),
    "portal_statements:penalty_file": page(portal("finance"), post=200),
    "portal_statements:fees": page(portal("finance", own=False), post=200),
    "portal_statements:subscribe": action(portal("finance", own=False)),
    "portal_statements:subscription_end": action(portal("finance", own=False)),
    "portal_statements:purchase": action(portal("finance", own=False)),
    # Subsidy grants (issue #14): an empty application is refused (400).
    "portal_statements:grant_list": page(portal("finance", own=False), post=400),
    "portal_statements:grant_detail": page(portal("finance"), post=200),
    "portal_statements:grant_document": page(
        portal("finance"), post=200, kwargs=lambda o: {"document_id": o["grant"].documents.get().pk}
    ),
    # A promotion's marketing figures (issue #13): read-only, GET and HEAD.
    "portal_marketing:list": page(portal("promotions", own=False)),
    "portal_marketing:detail": page(portal("promotions")),
    "portal_marketing:csv": page(portal("promotions")),
    # A flash sale's and a group buy's figures: the section of their own pages.
    "portal_marketing:flash_sale": page(portal("catalog")),
    "portal_marketing:flash_sale_csv": page(portal("catalog")),
    "portal_marketing:group_buy": page(portal("catalog")),
    "portal_marketing:group_buy_csv": page(portal("catalog")),
    # --- API: accounts, merchants ----------------------------------------------------------------
    "api-token": api(post=(API_PUBLIC, OK)),
    "api-me": api(get=(API_AUTH, 200)),
    # The caller's merchant: members 200, anyone else 404.
    "merchant-me": api(get=(Access({ANON: 401, **_refuse([BUYER, BUYER2, *STAFF], 404)}), 200)),
    "merchant-shop": api(get=(API_PUBLIC, 200)),
    "merchant-me-bank-changes": api(
        get=(api_member("bank_account", own=False), 200), post=(api_member("bank_account", own=False), OK)
    ),
    # Anyone signed in may start an application; staff read every one.
    "merchant-application-list": api(get=(API_AUTH, 200), post=(API_AUTH, OK)),
    "merchant-application-detail": api(
        get=(
            Access(
                {ANON: 401},
                _refuse([BUYER, BUYER2, OTHER, *[m for m in M_MEMBERS if m not in SECTIONS["application"]]], 404),
            ),
            200,
        ),
        patch=(API_APPLICANT, OK),
        kwargs=lambda o: {"pk": o["merchant"].pk},
    ),
    "merchant-application-submit": api(post=(API_APPLICANT, OK), kwargs=lambda o: {"pk": o["merchant"].pk}),
    "merchant-application-documents": api(post=(API_APPLICANT, OK), kwargs=lambda o: {"pk": o["merchant"].pk}),
    "merchant-application-document-remove": api(
        delete=(API_APPLICANT, OK),
        kwargs=lambda o: {"pk": o["merchant"].pk, "doc_id": o["document"].pk},
    ),
    # (issue #10) finance staff lack merchants.change_merchant: 403, as in the admin.
    **{
        f"merchant-application-{name}": api(
            post=(api_staff_review(), OK),
            kwargs=lambda o: {"pk": o["merchant"].pk},
        )
        for name in ("start-review", "approve", "reject", "request-changes")
    },
    # --- API: catalog ----------------------------------------------------------------------------
    "catalog-category-list": api(get=(API_PUBLIC, 200)),
    "catalog-product-list": api(get=(API_PUBLIC, 200)),
    "catalog-product-detail": api(get=(API_PUBLIC, 200), kwargs=lambda o: {"pk": o["product"].pk}),
    "merchant-product-list": api(
        get=(api_member("catalog", own=False), 200), post=(api_member("catalog", own=False), OK)
    ),
    "merchant-product-detail": api(
        get=(api_member("catalog"), 200), patch=(api_member("catalog"), OK), kwargs=lambda o: {"pk": o["product"].pk}
    ),
    "merchant-product-skus": api(post=(api_member("catalog"), OK), kwargs=lambda o: {"pk": o["product"].pk}),
    "merchant-product-submit": api(post=(api_member("catalog"), OK), kwargs=lambda o: {"pk": o["product"].pk}),
    "merchant-stock-list": api(
        get=(api_member("catalog", own=False), 200), post=(api_member("catalog", own=False), OK)
    ),
    "merchant-stock-adjust": api(post=(api_member("catalog", own=False), OK)),
    # --- API: notifications (issue #16) ----------------------------------------------------------
    "notification-list": api(get=(API_AUTH, 200)),
    "notification-detail": api(get=(API_USER_OWN, 200), kwargs=lambda o: {"pk": o["notification"].pk}),
    "notification-unread-count": api(get=(API_AUTH, 200)),
    "notification-read": api(post=(API_USER_OWN, OK), kwargs=lambda o: {"pk": o["notification"].pk}),
    "notification-read-all": api(post=(API_AUTH, OK)),
    # --- API: coupons ----------------------------------------------------------------------------
    "coupon-centre-list": api(get=(API_PUBLIC, 200)),
    "coupon-centre-claim": api(post=(API_BUYER, OK), kwargs=lambda o: {"pk": o["coupon_promotion"].pk}),
    "coupon-centre-claim-code": api(post=(API_BUYER, OK)),
    "my-coupon-list": api(get=(API_BUYER, 200)),
    "my-coupon-detail": api(get=(API_BUYER_OWN, 200), kwargs=lambda o: {"pk": o["coupon"].pk}),
    # --- API: promotions -------------------------------------------------------------------------
    "promotion-list": api(get=(API_PUBLIC, 200)),
    "promotion-detail": api(get=(API_PUBLIC, 200), kwargs=lambda o: {"pk": o["promotion"].pk}),
    "merchant-promotion-list": api(
        get=(api_member("promotions", own=False), 200), post=(api_member("promotions", own=False), OK)
    ),
    "merchant-promotion-detail": api(
        get=(api_member("promotions"), 200),
        patch=(api_member("promotions"), OK),
        kwargs=lambda o: {"pk": o["promotion"].pk},
    ),
    **{
        f"merchant-promotion-{name}": api(
            post=(api_member("promotions"), OK), kwargs=lambda o: {"pk": o["promotion"].pk}
        )
        for name in ("publish", "pause", "resume", "end")
    },
    # --- API: promotions (the merchant's flash sales) ----------------------------------------------
    "merchant-flash-sale-list": api(
        get=(api_member("catalog", own=False), 200), post=(api_member("catalog", own=False), OK)
    ),
    "merchant-flash-sale-detail": api(get=(api_member("catalog"), 200), kwargs=lambda o: {"pk": o["flash_sale"].pk}),
    **{
        f"merchant-flash-sale-{name}": api(
            post=(api_member("catalog"), OK), kwargs=lambda o: {"pk": o["flash_sale"].pk}
        )
        for name in ("pause", "resume")
    },
    # --- API: promotions (group buys) --------------------------------------------------------------
    "group-buy-list": api(get=(API_PUBLIC, 200)),
    "group-buy-detail": api(get=(API_PUBLIC, 200), kwargs=lambda o: {"pk": o["campaign"].pk}),
    "group-buy-join": api(post=(API_BUYER, OK), kwargs=lambda o: {"pk": o["campaign"].pk}),
    "group-buy-group-detail": api(get=(API_PUBLIC, 200), kwargs=lambda o: {"pk": o["group"].pk}),
    "merchant-group-buy-list": api(
        get=(api_member("catalog", own=False), 200), post=(api_member("catalog", own=False), OK)
    ),
    **{
        f"merchant-group-buy-{name}": api(get=(api_member("catalog"), 200), kwargs=lambda o: {"pk": o["campaign"].pk})
        for name in ("detail", "groups")
    },
    **{
        f"merchant-group-buy-{name}": api(post=(api_member("catalog"), OK), kwargs=lambda o: {"pk": o["campaign"].pk})
        for name in ("pause", "resume", "end")
    },
    # --- API: orders -----------------------------------------------------------------------------
    "api-orders-cart": api(get=(API_BUYER, 200)),
    "api-orders-cart-pricing": api(get=(API_BUYER, 200)),
    "api-orders-cart-items": api(post=(API_BUYER, OK)),
    # Only the buyer's cart holds the SKU: anyone else's DELETE finds nothing (404).
    "api-orders-cart-item": api(
        patch=(API_BUYER, OK), delete=(API_BUYER_OWN, OK), kwargs=lambda o: {"sku_id": o["sku"].pk}
    ),
    "api-orders-checkout": api(post=(API_BUYER, OK)),
    # Signed by the gateway, not a user: every caller reaches the signature check (issue #10).
    "api-orders-sandbox-callback": api(post=(API_PUBLIC, OK), wrong=API_PUBLIC, sandbox=True),
    "buyer-order-list": api(get=(API_BUYER, 200)),
    "buyer-order-detail": api(get=(API_BUYER_OWN, 200), kwargs=lambda o: {"number": o["shipped"].number}),
    "buyer-order-pay": api(post=(API_BUYER_OWN, OK), kwargs=lambda o: {"number": o["unpaid"].number}),
    **{
        f"buyer-merchant-order-{name}": api(post=(API_BUYER_OWN, OK), kwargs=lambda o: {"pk": o["part"].pk})
        for name in ("cancel", "confirm-receipt", "after-sales")
    },
    # The buyer who asked and the shop's orders members see a request; each answers their part.
    "after-sales-detail": api(
        get=(Access(API_BUYER.gate, _refuse([BUYER2, M_CATALOG, M_FINANCE, OTHER], 404)), 200),
        kwargs=lambda o: {"pk": o["after_sales"].pk},
    ),
    "after-sales-escalate": api(post=(API_BUYER_OWN, OK), kwargs=lambda o: {"pk": o["after_sales"].pk}),
    **{
        f"after-sales-{name}": api(
            post=(Access(API_BUYER.gate, _refuse([BUYER, BUYER2, M_CATALOG, M_FINANCE, OTHER], 404)), OK),
            kwargs=lambda o: {"pk": o["after_sales"].pk},
        )
        for name in ("accept", "reject", "return-received")
    },
    "order-line-review": api(post=(API_BUYER_OWN, OK), kwargs=lambda o: {"pk": o["done_line"].pk}),
    "merchant-order-list": api(get=(api_member("orders", own=False), 200)),
    "merchant-order-detail": api(get=(api_member("orders"), 200), kwargs=lambda o: {"pk": o["part"].pk}),
    "merchant-order-ship": api(post=(api_member("orders"), OK), kwargs=lambda o: {"pk": o["part"].pk}),
    # --- API: promotions -------------------------------------------------------------------------
    "flash-sale-list": api(get=(API_PUBLIC, 200)),
    "flash-sale-detail": api(get=(API_PUBLIC, 200), kwargs=lambda o: {"pk": o["flash_sale"].pk}),
    "flash-sale-admit": api(post=(API_BUYER, OK), kwargs=lambda o: {"pk": o["flash_sale"].pk}),
    # --- API: settlements ------------------------------------------------------------------------
    "settlement-run-list": api(
        get=(api_finance("settlements.view_settlementrun"), 200),
        post=(api_finance("settlements.view_settlementrun", "settlements.add_settlementrun"), OK),
    ),
    "settlement-run-detail": api(
        get=(api_finance("settlements.view_settlementrun"), 200), kwargs=lambda o: {"pk": o["run"].pk}
    ),
    "settlement-statement-list": api(get=(api_statements("settlements.view_statement", own=False), 200)),
    "settlement-statement-detail": api(
        get=(api_statements("settlements.view_statement"), 200), kwargs=lambda o: {"pk": o["statement"].pk}
    ),
    # Members of the finance section read their statements but never approve them (403).
    "settlement-statement-approve": api(
        post=(
            Access(
                api_statements("settlements.view_statement", "settlements.change_statement").gate,
                {OTHER: 404, OWNER: 403, M_FINANCE: 403},
            ),
            OK,
        ),
        kwargs=lambda o: {"pk": o["statement"].pk},
    ),
    "payout-batch-list": api(
        get=(api_finance("settlements.view_payoutbatch"), 200),
        post=(api_finance("settlements.view_payoutbatch", "settlements.add_payoutbatch"), OK),
    ),
    "payout-batch-detail": api(
        get=(api_finance("settlements.view_payoutbatch"), 200), kwargs=lambda o: {"pk": o["batch"].pk}
    ),
    # The merchant's subsidies, penalties and fees (issue #14): the portal's finance section.
    "merchant-subsidy-accrual-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-grant-programme-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-grant-application-list": api(
        get=(api_member("finance", own=False), 200), post=(api_member("finance", own=False), OK)
    ),
    "merchant-grant-application-detail": api(get=(api_member("finance"), 200), kwargs=lambda o: {"pk": o["grant"].pk}),
    "merchant-penalty-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-penalty-detail": api(get=(api_member("finance"), 200), kwargs=lambda o: {"pk": o["penalty"].pk}),
    "merchant-penalty-appeal": api(post=(api_member("finance"), OK), kwargs=lambda o: {"pk": o["penalty"].pk}),
    "merchant-fee-charge-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-subscription-plan-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-subscription-list": api(
        get=(api_member("finance", own=False), 200), post=(api_member("finance", own=False), OK)
    ),
    "merchant-subscription-end": api(post=(api_member("finance"), OK), kwargs=lambda o: {"pk": o["subscription"].pk}),
    "merchant-value-added-service-list": api(get=(api_member("finance", own=False), 200)),
    "merchant-value-added-service-purchase": api(
        post=(api_member("finance", own=False), OK), kwargs=lambda o: {"pk": o["value_added_service"].pk}
    ),
}


# --- The admin: rows generated from the registered ModelAdmins ----------------------------------

#: What each ModelAdmin offers at all (view, add, change, delete); a staff group gets what it
#: offers and the group holds the permission for (marketplace/roles.py).
ADMIN_OFFERS = {
    "auth.group": "vacd",
    "marketplace.user": "vacd",
    "marketplace.auditlogentry": "v",
    "marketplace.jobfailure": "v",
    "authtoken.tokenproxy": "vacd",
    "django_celery_beat.periodictask": "vacd",
    "django_celery_beat.clockedschedule": "vacd",
    "django_celery_beat.crontabschedule": "vacd",
    "django_celery_beat.solarschedule": "vacd",
    "django_celery_beat.intervalschedule": "vacd",
    "axes.accessattempt": "vcd",
    "axes.accesslog": "vcd",
    "axes.accessfailurelog": "vcd",
    "merchants.merchant": "v",
    "merchants.tier": "vc",
    "merchants.publicholiday": "vacd",
    "merchants.depositentry": "v",
    "merchants.merchantmember": "v",
    "merchants.invitation": "v",
    "merchants.bankaccountchange": "v",
    "merchants.merchantdocument": "v",
    "merchants.contractamendment": "v",
    "catalog.category": "vacd",
    "catalog.categoryratechange": "v",
    "catalog.categorygrant": "v",
    "catalog.tag": "vacd",
    "catalog.topbrand": "vacd",
    "catalog.product": "v",
    "catalog.productrevision": "v",
    "catalog.warehouse": "vacd",
    "catalog.stock": "v",
    "catalog.stockmovement": "v",
    "catalog.stockalert": "v",
    # Issue #16: what was sent to whom, read-only (only notify writes it); no staff group reads it.
    "notifications.notification": "v",
    "orders.buyerorder": "v",
    "orders.merchantorder": "v",
    "orders.payment": "v",
    "orders.gatewayevent": "v",
    "orders.refund": "v",
    "orders.aftersalesrequest": "v",
    "orders.review": "v",
    "orders.complaint": "v",
    "orders.dispute": "v",
    "orders.shippingrate": "v",
    "promotions.promotion": "vac",
    "promotions.flashsale": "va",
    "promotions.flashreservation": "v",
    "settlements.account": "v",
    "settlements.journalentry": "v",
    "settlements.payout": "v",
    "settlements.payoutbatch": "va",
    "settlements.manualadjustment": "va",
    "settlements.settlementrun": "va",
    "settlements.statement": "v",
    "settlements.invoice": "v",
    "settlements.penalty": "va",
    "settlements.penaltyparameter": "vc",
    "settlements.technicalservicefee": "vc",
    "settlements.subscriptionplan": "vac",
    "settlements.valueaddedservice": "vac",
    "settlements.subscription": "v",
    "settlements.feecharge": "va",
    "settlements.subsidyprogramme": "vac",
    "settlements.grantapplication": "v",
    "settlements.subsidyaccrual": "v",
    "promotions.membershiplevel": "vacd",
    "promotions.membership": "v",
    "promotions.membershipchange": "v",
    "promotions.rfmscore": "v",
    "promotions.groupbuycampaign": "v",
    "promotions.groupbuygroup": "v",
    "promotions.groupbuyparticipant": "v",
    "promotions.coupon": "v",
    # Merchant quality (issue #15): records written by the jobs and services; the weights are edited.
    "risk.ratingweights": "vc",
    "risk.creditrating": "v",
    "risk.quarterlyevaluation": "v",
    "risk.requalificationreview": "v",
    "risk.renewalcase": "v",
    "risk.riskalert": "v",
    "risk.alertrule": "vac",
    "settlements.payouthold": "v",
}


@dataclass
class AdminPage:
    """A staff page beyond the admin's own five: the model whose view permission it needs
    (None: none), the permissions it names, and the allowed GET answer in the world's state
    (an action not possible in the record's state sends back to the record: REDIRECT)."""

    model: str | None
    perms: tuple
    get: object = 200
    object_url: bool = True


_LIFECYCLE = ("merchants.change_merchant",)
_DEPOSIT = ("merchants.add_depositentry",)
ADMIN_PAGES = {
    # The world's merchant is live: the review steps are behind it.
    "merchants_merchant_start_review": AdminPage("merchants.merchant", _LIFECYCLE, REDIRECT),
    "merchants_merchant_approve": AdminPage("merchants.merchant", _LIFECYCLE, REDIRECT),
    "merchants_merchant_reject": AdminPage("merchants.merchant", _LIFECYCLE, REDIRECT),
    "merchants_merchant_request_changes": AdminPage("merchants.merchant", _LIFECYCLE, REDIRECT),
    "merchants_merchant_suspend": AdminPage("merchants.merchant", _LIFECYCLE),
    "merchants_merchant_reinstate": AdminPage("merchants.merchant", _LIFECYCLE, REDIRECT),
    "merchants_merchant_terminate": AdminPage("merchants.merchant", _LIFECYCLE),
    "merchants_merchant_change_tier": AdminPage("merchants.merchant", _LIFECYCLE),
    "merchants_merchant_record_deposit": AdminPage("merchants.merchant", _DEPOSIT),
    "merchants_merchant_deduct_deposit": AdminPage("merchants.merchant", _DEPOSIT),
    "merchants_merchant_refund_deposit": AdminPage("merchants.merchant", _DEPOSIT, REDIRECT),
    "merchants_merchant_category_grants": AdminPage(
        "merchants.merchant", ("catalog.add_categorygrant", "catalog.delete_categorygrant")
    ),
    # Issue #15: the world's merchant has a contract in force, a new bank account and a renewed
    # document waiting for staff.
    "merchants_merchant_propose_amendment": AdminPage("merchants.merchant", ("merchants.add_contractamendment",)),
    "merchants_bankaccountchange_approve": AdminPage(
        "merchants.bankaccountchange", ("merchants.change_bankaccountchange",)
    ),
    "merchants_bankaccountchange_refuse": AdminPage(
        "merchants.bankaccountchange", ("merchants.change_bankaccountchange",)
    ),
    "merchants_merchantdocument_accept_renewal": AdminPage(
        "merchants.merchantdocument", ("merchants.change_merchantdocument",)
    ),
    "merchants_merchantdocument_refuse_renewal": AdminPage(
        "merchants.merchantdocument", ("merchants.change_merchantdocument",)
    ),
    "catalog_category_change_rate": AdminPage("catalog.category", ("catalog.change_category",)),
    "catalog_product_image": AdminPage("catalog.product", ()),
    # The world's product is published and not featured.
    "catalog_product_approve": AdminPage("catalog.product", ("catalog.change_product",), REDIRECT),
    "catalog_product_reject": AdminPage("catalog.product", ("catalog.change_product",), REDIRECT),
    "catalog_product_feature": AdminPage("catalog.product", ("catalog.change_product",)),
    "catalog_product_unfeature": AdminPage("catalog.product", ("catalog.change_product",), REDIRECT),
    "catalog_productrevision_approve": AdminPage("catalog.productrevision", ("catalog.change_productrevision",)),
    "catalog_productrevision_reject": AdminPage("catalog.productrevision", ("catalog.change_productrevision",)),
    "orders_dispute_arbitrate": AdminPage("orders.dispute", ("orders.change_dispute",)),
    # The world's review is shown (it can be hidden, not shown again); its complaint is open.
    "orders_review_hide": AdminPage("orders.review", ("orders.change_review",)),
    "orders_review_show": AdminPage("orders.review", ("orders.change_review",), REDIRECT),
    "orders_complaint_assign": AdminPage("orders.complaint", ("orders.change_complaint",)),
    "orders_complaint_respond": AdminPage("orders.complaint", ("orders.change_complaint",)),
    # The world's flash sale is on, not paused.
    "promotions_flashsale_pause": AdminPage("promotions.flashsale", ("promotions.change_flashsale",)),
    "promotions_flashsale_resume": AdminPage("promotions.flashsale", ("promotions.change_flashsale",), REDIRECT),
    # The world's refund is not a failed one: only a failed refund can be sent again.
    "orders_refund_retry": AdminPage("orders.refund", ("orders.change_refund",), REDIRECT),
    # The admin's promotion is a platform promotion in draft: only activating it is possible.
    "promotions_promotion_activate": AdminPage("promotions.promotion", ("promotions.change_promotion",)),
    **{
        f"promotions_promotion_{name}": AdminPage("promotions.promotion", ("promotions.change_promotion",), REDIRECT)
        for name in ("approve", "reject", "pause", "resume", "end")
    },
    "settlements_payout_mark_paid": AdminPage("settlements.payout", ("settlements.change_payout",)),
    "settlements_payout_mark_failed": AdminPage("settlements.payout", ("settlements.change_payout",)),
    "settlements_payoutbatch_export": AdminPage("settlements.payoutbatch", ("merchants.view_bank_account",)),
    "settlements_payoutbatch_results": AdminPage("settlements.payoutbatch", ("settlements.change_payout",)),
    "settlements_settlementrun_preview": AdminPage(None, ("settlements.add_settlementrun",), object_url=False),
    # The dry run as a job (issue #16): the world's dry run of October is completed.
    **{
        f"settlements_settlementrun_{name}": AdminPage(None, ("settlements.add_settlementrun",), object_url=False)
        for name in ("dry_run", "dry_run_status", "dry_run_csv")
    },
    # Finance's exports of a period (issue #16): the form, without its query.
    "settlements_settlementrun_exports": AdminPage(
        None, ("settlements.view_statement", "settlements.view_journalentry"), object_url=False
    ),
    # The world's statement is approved and invoiced.
    "settlements_statement_approve": AdminPage("settlements.statement", ("settlements.change_statement",), REDIRECT),
    "settlements_statement_issue_invoice": AdminPage("settlements.statement", ("settlements.add_invoice",), REDIRECT),
    "settlements_statement_approve_all": AdminPage(
        None, ("settlements.view_statement", "settlements.change_statement"), object_url=False
    ),
    "settlements_statement_reconciliation": AdminPage(
        None, ("settlements.view_statement", "settlements.view_journalentry"), object_url=False
    ),
    "settlements_statement_invoice_pdf": AdminPage(None, ("settlements.view_statement", "settlements.view_invoice")),
    # The statement's PDF and CSV, as the portal's (issue #16).
    "settlements_statement_pdf": AdminPage(None, ("settlements.view_statement",)),
    "settlements_statement_csv": AdminPage(None, ("settlements.view_statement",)),
    # The world's penalty is open, within its appeal window: nothing to decide or deduct yet.
    "settlements_penalty_uphold": AdminPage("settlements.penalty", ("settlements.change_penalty",), REDIRECT),
    "settlements_penalty_reject": AdminPage("settlements.penalty", ("settlements.change_penalty",), REDIRECT),
    "settlements_penalty_deduct_deposit": AdminPage("settlements.penalty", ("merchants.add_depositentry",), REDIRECT),
    "settlements_penalty_file": AdminPage("settlements.penalty", ()),
    # The world's grant application is submitted: it can be approved or refused.
    "settlements_grantapplication_approve": AdminPage(
        "settlements.grantapplication", ("settlements.change_grantapplication",)
    ),
    "settlements_grantapplication_refuse": AdminPage(
        "settlements.grantapplication", ("settlements.change_grantapplication",)
    ),
    "settlements_grantapplication_document": AdminPage("settlements.grantapplication", (), object_url=False),
    "promotions_rfmscore_export": AdminPage(None, ("promotions.view_rfmscore",), object_url=False),
    # The world's risk alert is open and its payout hold open (issue #15): every action is possible.
    **{
        f"risk_riskalert_{name}": AdminPage("risk.riskalert", ("risk.change_riskalert",))
        for name in ("acknowledge", "resolve", "assign")
    },
    "settlements_payouthold_release": AdminPage("settlements.payouthold", ("settlements.change_payouthold",)),
    # The world's group buy is active: it cannot be resumed.
    "promotions_groupbuycampaign_pause": AdminPage(
        "promotions.groupbuycampaign", ("promotions.change_groupbuycampaign",)
    ),
    "promotions_groupbuycampaign_resume": AdminPage(
        "promotions.groupbuycampaign", ("promotions.change_groupbuycampaign",), REDIRECT
    ),
    "promotions_groupbuycampaign_end": AdminPage(
        "promotions.groupbuycampaign", ("promotions.change_groupbuycampaign",)
    ),
    "promotions_groupbuycampaign_platform_share": AdminPage(
        "promotions.groupbuycampaign", ("promotions.change_groupbuycampaign",)
    ),
    # Merchant quality (issue #15): the world's review is open and its renewal pending.
    **{
        f"risk_requalificationreview_{name}": AdminPage(
            "risk.requalificationreview", ("risk.change_requalificationreview",)
        )
        for name in ("pass", "conditions", "suspend")
    },
    "risk_renewalcase_renew": AdminPage("risk.renewalcase", ("risk.change_renewalcase",)),
    "risk_renewalcase_not_renew": AdminPage("risk.renewalcase", ("risk.change_renewalcase",)),
    "risk_renewalcase_evaluate": AdminPage("risk.renewalcase", ("risk.add_renewalcase",), object_url=False),
}


def _may(identity: str, label: str, what: str) -> bool:
    """Whether a staff identity may `what` (view/add/change/delete) in `label`'s admin."""
    offers = ADMIN_OFFERS[label]
    app, model = label.split(".")
    if what == "view":
        return ("v" in offers and staff_has(identity, f"{app}.view_{model}")) or (
            "c" in offers and staff_has(identity, f"{app}.change_{model}")
        )
    return what[0] in offers and staff_has(identity, f"{app}.{what}_{model}")


def _admin_access(allowed: Callable[[str], bool]) -> Access:
    gate = {ANON: ADMIN_LOGIN, **_refuse(NON_STAFF, ADMIN_LOGIN)}
    gate.update({s: 403 for s in STAFF if not allowed(s)})
    return Access(gate)


def _admin_row(get_access: Access, post_access: Access, *, get=200, kwargs=None) -> Row:
    return Row(
        {"GET": (get_access, get), "HEAD": (get_access, get), "POST": (post_access, OK)},
        wrong=None,
        kwargs=kwargs,
    )


def _object_kwargs(label: str):
    return lambda o: {"object_id": o["admin"][label].pk}


def admin_rows() -> dict[str, Row]:
    rows = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if label not in ADMIN_OFFERS:
            continue  # test_every_route_has_a_row names it
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        view = _admin_access(lambda s, label=label: _may(s, label, "view"))
        change = _admin_access(lambda s, label=label: _may(s, label, "change"))
        add = _admin_access(lambda s, label=label: _may(s, label, "add"))
        delete = _admin_access(lambda s, label=label: _may(s, label, "delete"))
        kwargs = _object_kwargs(label)
        rows[f"{info}_changelist"] = _admin_row(view, view)
        rows[f"{info}_add"] = _admin_row(add, add)
        rows[f"{info}_history"] = _admin_row(view, view, kwargs=kwargs)
        rows[f"{info}_delete"] = _admin_row(delete, delete, kwargs=kwargs)
        # GET shows the record to whoever may view it; a POST saves it (change permission).
        rows[f"{info}_change"] = _admin_row(view, change, kwargs=kwargs)
        # The old change URL redirects any staff to the change page.
        staff = _admin_access(lambda s: True)
        rows[_admin_pattern(model_admin, "<path:object_id>/")] = _admin_row(staff, staff, get=REDIRECT, kwargs=kwargs)
    for name, spec in ADMIN_PAGES.items():

        def allowed(s, spec=spec):
            return (spec.model is None or _may(s, spec.model, "view")) and staff_has(s, *spec.perms)

        access = _admin_access(allowed)
        kwargs = None
        if name == "catalog_product_image":
            kwargs = lambda o: {"object_id": o["product"].pk, "image_id": o["image"].pk, "size": "small"}  # noqa: E731
        elif name == "settlements_penalty_file":
            kwargs = lambda o: {"penalty_id": o["penalty"].pk, "file_id": o["penalty_file"].pk}  # noqa: E731
        elif name in ("settlements_statement_invoice_pdf", "settlements_statement_pdf", "settlements_statement_csv"):
            kwargs = lambda o: {"object_id": o["statement"].pk}  # noqa: E731
        elif spec.object_url:
            kwargs = _object_kwargs(spec.model)
        rows[f"admin:{name}"] = _admin_row(access, access, get=spec.get, kwargs=kwargs)

    staff = _admin_access(lambda s: True)
    not_staff = _refuse([ANON, *NON_STAFF], ADMIN_LOGIN)
    rows["admin:index"] = _admin_row(staff, staff)
    # The login page: staff already signed in go to the index; a POST is a login attempt.
    rows["admin:login"] = _admin_row(Access(_refuse(STAFF, REDIRECT)), PUBLIC)
    # Non-staff are sent to the index (which sends them to log in); staff log out by POST.
    rows["admin:logout"] = Row(
        {"POST": (Access(_refuse([ANON, *NON_STAFF], REDIRECT)), OK)},
        wrong=Access(_refuse([ANON, *NON_STAFF], REDIRECT)),
    )
    rows["admin:password_change"] = _admin_row(staff, staff)
    # Pages read with GET only: a POST answers 405 to staff.
    rows["admin:password_change_done"] = Row({"GET": (staff, 200)}, wrong=Access(not_staff))
    rows["admin:jsi18n"] = Row({"GET": (staff, 200)}, wrong=Access(not_staff))
    # Without its query the autocomplete refuses every caller (403).
    rows["admin:autocomplete"] = Row(
        {"GET": (Access({**not_staff, **_refuse(STAFF, 403)}), 403)}, wrong=Access(not_staff)
    )
    # A record's public page: no model has one (404 for staff).
    rows["admin:view_on_site"] = _admin_row(
        Access({**not_staff, **_refuse(STAFF, 404)}),
        Access({**not_staff, **_refuse(STAFF, 404)}),
        kwargs=lambda o: {"content_type_id": o["product_ct"].pk, "object_id": o["product"].pk},
    )
    # The password of a user: whoever may change users (no staff group).
    rows["admin:auth_user_password_change"] = _admin_row(
        _admin_access(lambda s: _may(s, "marketplace.user", "change")),
        _admin_access(lambda s: _may(s, "marketplace.user", "change")),
        kwargs=lambda o: {"id": o["buyer_user"].pk},
    )
    # An application's index: staff with a permission in the app; others 404.
    for app in sorted({m._meta.app_label for m in admin.site._registry}):
        labels = [label for label in ADMIN_OFFERS if label.startswith(f"{app}.")]
        rows[f"admin:app_list[{app}]"] = _admin_row(
            Access(
                {
                    **not_staff,
                    **{
                        s: 404
                        for s in STAFF
                        if not any(
                            staff_has(s, f"{label.split('.')[0]}.{p}_{label.split('.')[1]}")
                            for label in labels
                            for p in ("view", "add", "change", "delete")
                        )
                    },
                }
            ),
            Access(
                {
                    **not_staff,
                    **{
                        s: 404
                        for s in STAFF
                        if not any(
                            staff_has(s, f"{label.split('.')[0]}.{p}_{label.split('.')[1]}")
                            for label in labels
                            for p in ("view", "add", "change", "delete")
                        )
                    },
                }
            ),
            kwargs=lambda o, app=app: {"app_label": app},
        )
    # Any other admin address: staff 404, others to the login page.
    rows["admin/(?P<url>.*)$"] = _admin_row(
        Access({**not_staff, **_refuse(STAFF, 404)}),
        Access({**not_staff, **_refuse(STAFF, 404)}),
        kwargs=lambda o: {"url": "no/such/page/"},
    )
    return rows


def _admin_pattern(model_admin, suffix: str) -> str:
    return f"admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/{suffix}"


ROUTES.update(admin_rows())


def _marketing_admin() -> Row:
    """Operations' marketing pages of promotions (issue #13): plain admin views, read-only,
    for staff holding promotions.view_promotion (others 403, non-staff to the admin's login)."""
    access = _admin_access(lambda s: staff_has(s, "promotions.view_promotion"))
    return Row({"GET": (access, 200), "HEAD": (access, 200)}, wrong=Access(access.gate))


ROUTES.update(
    {
        f"promotions_marketing:{name}": _marketing_admin()
        for name in ("list", "list_csv", "detail", "csv", "flash_sale", "flash_sale_csv", "group_buy", "group_buy_csv")
    }
)


def _dashboard_admin(*perms: str) -> Row:
    """The dashboards of operations and finance (issue #16): plain admin views, read-only, for
    staff holding every permission of their declaration (others 403, non-staff to the admin's
    login)."""
    access = _admin_access(lambda s: staff_has(s, *perms))
    return Row({"GET": (access, 200), "HEAD": (access, 200)}, wrong=Access(access.gate))


ROUTES.update(
    {
        "operations_dashboard:index": _dashboard_admin(
            "orders.view_merchantorder", "merchants.view_merchant", "catalog.view_topbrand"
        ),
        "finance_dashboard:index": _dashboard_admin(
            "settlements.view_settlementrun",
            "settlements.view_statement",
            "settlements.view_payout",
            "settlements.view_journalentry",
        ),
    }
)


# --- Discovery ----------------------------------------------------------------------------------


@dataclass
class Route:
    key: str  # the URL name (namespaced), else the full pattern
    pattern: str
    name: str | None
    kwargs: list


def discover_routes() -> dict[str, Route]:
    """Every URL pattern of the resolver, by name (namespaced) or, unnamed, by full pattern."""
    found = {}

    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                name = f"{namespace}{entry.name}" if entry.name else None
                kwargs = list(entry.pattern.regex.groupindex)
                key = name or pattern
                found[key] = Route(key, pattern, name, kwargs)

    walk(get_resolver().url_patterns)
    # One row per application of the admin's app index (a single regex alternation).
    app_list = found.pop("admin:app_list", None)
    if app_list is not None:
        for app in re.search(r"\(\?P<app_label>([^)]*)\)", app_list.pattern).group(1).split("|"):
            found[f"admin:app_list[{app}]"] = Route(f"admin:app_list[{app}]", app_list.pattern, "admin:app_list", [])
    return found


def schema_operations() -> set[tuple[str, str]]:
    """(URL name, METHOD) of every operation of the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = set()
    for path, operations in schema["paths"].items():
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                found.add((match.view_name, method.upper()))
    return found


ROUTES_FOUND = discover_routes()


def test_every_route_has_a_row_and_every_row_a_route():
    unknown = sorted(set(ROUTES_FOUND) - set(ROUTES))
    gone = sorted(set(ROUTES) - set(ROUTES_FOUND))
    unregistered = sorted(m._meta.label_lower for m in admin.site._registry if m._meta.label_lower not in ADMIN_OFFERS)
    assert not unknown, f"Routes without a row in the access matrix: {unknown}"
    assert not gone, f"Rows of the access matrix naming no route: {gone}"
    assert not unregistered, f"ModelAdmins without an entry in ADMIN_OFFERS: {unregistered}"
    assert not sorted(set(ADMIN_OFFERS) - {m._meta.label_lower for m in admin.site._registry})


def test_every_api_operation_has_a_row_and_every_api_row_an_operation():
    operations = schema_operations()
    rows = {(name, method) for name, row in ROUTES.items() if row.api for method in row.ops}
    assert not sorted(operations - rows), f"API operations without a row: {sorted(operations - rows)}"
    assert not sorted(rows - operations), f"API rows naming no operation of the schema: {sorted(rows - operations)}"


# --- The world and the requests -----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, inside atomic blocks rolled back at the end of the module (each test adds
    its own savepoint, as Django's TestCase.setUpTestData does)."""
    from django.contrib.contenttypes.models import ContentType

    from catalog.models import Product

    media = tmp_path_factory.mktemp("access-matrix-media")
    overrides = override_settings(
        MEDIA_ROOT=media,
        SANDBOX_GATEWAY_ENABLED=True,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), overrides:
        # pytest-django sets the test database up only for a session with a django_db test.
        assert connection.settings_dict["NAME"].startswith("test_"), "Run with a django_db test selected."
        atomics = TestCase._enter_atomics()
        try:
            built = build_world()
            built.objects["product_ct"] = ContentType.objects.get_for_model(Product)
            built.objects["buyer_user"] = built.users[BUYER]
            built.objects["admin"] = _admin_objects(built)
            built.sessions = {}
            for identity, user in built.users.items():
                if user is not None:
                    client = Client()
                    client.force_login(user)
                    built.sessions[identity] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
        finally:
            TestCase._rollback_atomics(atomics)


def _admin_objects(world) -> dict:
    """One record per registered model for the admin's record URLs: the world's own where it
    has one, else the first row, else one made here."""
    from tests.access_world import admin_fillers, membership_level_above_base

    objects = world.objects
    chosen = {
        "merchants.merchant": objects["merchant"],
        "catalog.product": objects["product"],
        "catalog.category": objects["category"],
        "settlements.statement": objects["statement"],
        "settlements.payoutbatch": objects["batch"],
        "settlements.settlementrun": objects["run"],
        "settlements.grantapplication": objects["grant"],
        "merchants.merchantdocument": objects["renewal"],
        "marketplace.user": world.users[BUYER],
        # The base level (¥0) can never be deleted: the record is a level above it.
        "promotions.membershiplevel": membership_level_above_base(),
        "promotions.promotion": objects["platform_promotion"],
    }
    fillers = admin_fillers(world)
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label in chosen:
            continue
        row = model._default_manager.order_by("pk").first()
        if row is None and label in fillers:
            row = fillers[label]()
        chosen[label] = row
    return chosen


def _writes() -> dict:
    """Rows inserted, updated and deleted so far in this transaction, per table (sessions aside)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE relname <> 'django_session' AND n_tup_ins + n_tup_upd + n_tup_del > 0"
        )
        return dict(cursor.fetchall())


def _matches(response, expected) -> bool:
    code = response.status_code
    location = response.get("Location", "")
    login_url = resolve_url(settings.LOGIN_URL)
    if expected == LOGIN:
        return code == 302 and location.startswith(login_url + "?next=")
    if expected == ADMIN_LOGIN:
        return code == 302 and location.startswith("/admin/login/?next=")
    to_login = location.startswith((login_url, "/admin/login/"))
    if expected == REDIRECT:
        return code in (301, 302, 303) and not to_login
    if expected == OK:
        return code in (200, 201, 202, 204, 400, 409, 415, 422) or (code in (301, 302, 303) and not to_login)
    return code == expected


def _describe(response) -> str:
    location = response.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


def _request(client, method: str, url: str, api: bool):
    if api:
        return client.generic(method, url, b"", content_type="application/json", HTTP_ACCEPT="application/json")
    return client.generic(method, url, b"", content_type="application/x-www-form-urlencoded")


def _methods(row: Row, key: str) -> list[str]:
    # Safe methods first: an allowed unsafe request may change the record the others read.
    # HEAD for the site's pages; the admin's views answer HEAD as GET whatever the route.
    unsafe = [m for m in row.ops if m not in ("GET", "HEAD")]
    safe = ["GET"] if row.api or key.startswith("admin") else ["GET", "HEAD"]
    return safe + (unsafe or ([] if row.api else ["POST"]))


def check(world, key: str, identity: str, *, sandbox_on: bool = True) -> None:
    row = ROUTES[key]
    route = ROUTES_FOUND[key]
    defaults = {name: world.kwargs[name] for name in route.kwargs if name in world.kwargs}
    kwargs = {**defaults, **(row.kwargs(world.objects) if row.kwargs else {})}
    url = reverse(route.name, kwargs=kwargs) if route.name else "/" + _fill(route.pattern, kwargs)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if identity in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[identity]
    problems = []
    for method in _methods(row, key):
        if not sandbox_on and method not in row.ops:
            continue  # a route that does not exist has no methods to speak of
        expected = row.expect(method, identity) if sandbox_on else 404
        watch = method not in ("GET", "HEAD") and expected in REFUSALS
        before = _writes() if watch else None
        response = _request(client, method, url, row.api)
        if not _matches(response, expected):
            problems.append(f"{method} {url}: expected {expected}, got {_describe(response)}")
        elif watch and (after := _writes()) != before:
            changed = sorted(t for t in after if after[t] != before.get(t))
            problems.append(f"{method} {url}: refused ({expected}) but wrote to {changed}")
        json = response.get("Content-Type", "").startswith("application/json")
        if url.startswith("/api/") and response.status_code == 404 and not json:
            problems.append(f"{method} {url}: a 404 under /api/ must be JSON (issue #10)")
    assert not problems, "\n".join(problems)


def _fill(pattern: str, kwargs: dict) -> str:
    """The path of an unnamed pattern, its groups and converters replaced by `kwargs`."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), path)
    return path.replace("^", "").replace("$", "")  # the anchors of included regex patterns


def _cases():
    for key, row in ROUTES.items():
        for identity in IDENTITIES:
            if row.sandbox:
                yield pytest.param(key, identity, True, id=f"{key}-{identity}-sandbox_on")
                yield pytest.param(key, identity, False, id=f"{key}-{identity}-sandbox_off")
            else:
                yield pytest.param(key, identity, True, id=f"{key}-{identity}")


@pytest.mark.django_db  # each case in its own savepoint of the world's transaction
@pytest.mark.parametrize(("key", "identity", "sandbox_on"), list(_cases()))
def test_access(world, key, identity, sandbox_on):
    with override_settings(SANDBOX_GATEWAY_ENABLED=sandbox_on):
        check(world, key, identity, sandbox_on=sandbox_on)


@pytest.mark.django_db
def test_the_write_counter_sees_a_write(world):
    """The "nothing changed" check reads the transaction's row counters: they see a write."""
    from catalog.models import Tag

    atomics = TestCase._enter_atomics()
    try:
        before = _writes()
        Tag.objects.create(name="Counted", slug="counted")
        after = _writes()
    finally:
        TestCase._rollback_atomics(atomics)
    assert after["catalog_tag"] == before.get("catalog_tag", 0) + 1


# --- Ids in API paths (issue #10) ----------------------------------------------------------------

#: URL kwargs of the API that are database ids.
ID_KWARGS = {"pk", "sku_id", "doc_id"}


def _id_cases():
    for key, row in ROUTES.items():
        route = ROUTES_FOUND[key]
        if not row.api or not ID_KWARGS & set(route.kwargs):
            continue
        method, (access, _answer) = next(iter(row.ops.items()))
        identity = next(i for i in [BUYER, OWNER, SUPER, ANON] if access.answer(i, OK) not in REFUSALS)
        yield pytest.param(key, method, identity, id=f"{key}-{method}-{identity}")


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "method", "identity"), list(_id_cases()))
def test_a_non_numeric_id_in_an_api_path_is_a_json_404(world, key, method, identity):
    route = ROUTES_FOUND[key]
    row = ROUTES[key]
    kwargs = {**{n: world.kwargs[n] for n in route.kwargs if n in world.kwargs}, **row.kwargs(world.objects)}
    kwargs.update(dict.fromkeys(ID_KWARGS & set(route.kwargs), "abc"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    if identity in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[identity]
    url = "/" + _fill(route.pattern, kwargs)
    response = _request(client, method, url, api=True)
    assert (response.status_code, response.get("Content-Type", "").split(";")[0]) == (404, "application/json")


@pytest.mark.django_db
def test_an_unknown_api_address_is_a_json_404(world):
    response = Client().get("/api/v1/no-such-thing/")
    assert (response.status_code, response.get("Content-Type", "").split(";")[0]) == (404, "application/json")
