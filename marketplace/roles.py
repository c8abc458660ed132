"""Platform staff roles and the permissions each group holds.

The groups themselves are created by a data migration (0002). Their permissions are synced
after every `migrate`, because a permission exists only once post_migrate has created it for
its model, and later apps add models (and thus permissions) in later migrations.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

REVIEWER = "reviewer"
OPERATIONS = "operations"
FINANCE = "finance"

STAFF_GROUPS = {
    REVIEWER: _("Reviewer: merchant applications and product listings"),
    OPERATIONS: _("Operations: promotions, subsidies, risk alerts, disputes"),
    FINANCE: _("Finance: settlements, payouts, invoices"),
}

# "app_label.codename" entries. An entry whose model does not exist yet is skipped; the
# test suite checks that every entry exists once all apps are migrated. Later issues add
# the permissions of their models here.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    REVIEWER: [
        "marketplace.view_user",
        "marketplace.view_auditlogentry",
        "merchants.view_merchant",
        "merchants.change_merchant",
        "merchants.view_merchantdocument",
        "merchants.view_contract",
        "merchants.view_tier",
        "merchants.view_depositentry",
        # The merchant's changes after approval (issue #15): reviewers decide renewed documents.
        "merchants.change_merchantdocument",
        "merchants.view_contractamendment",
        "catalog.view_category",
        "catalog.view_categorygrant",
        "catalog.add_categorygrant",
        "catalog.delete_categorygrant",
        "catalog.view_product",
        "catalog.change_product",
        "catalog.view_productrevision",
        "catalog.change_productrevision",
        "catalog.view_productimage",
        "catalog.view_sku",
        # Merchant quality (issue #15): reviewers work the requalification reviews.
        "risk.view_creditrating",
        "risk.view_quarterlyevaluation",
        "risk.view_requalificationreview",
        "risk.change_requalificationreview",
    ],
    OPERATIONS: [
        "marketplace.view_user",
        "marketplace.view_auditlogentry",
        "marketplace.view_jobfailure",
        "django_celery_beat.view_periodictask",
        "merchants.view_merchant",
        "merchants.change_merchant",
        "merchants.view_merchantdocument",
        "merchants.view_contract",
        "merchants.view_tier",
        "merchants.change_tier",
        "merchants.view_publicholiday",
        "merchants.add_publicholiday",
        "merchants.change_publicholiday",
        "merchants.delete_publicholiday",
        # Contract amendments (issue #15): operations propose them; the merchant accepts in the portal.
        "merchants.view_contractamendment",
        "merchants.add_contractamendment",
        "catalog.view_category",
        "catalog.change_category",
        "catalog.view_categorygrant",
        "catalog.view_categoryratechange",
        "catalog.view_warehouse",
        "catalog.add_warehouse",
        "catalog.change_warehouse",
        "catalog.view_tag",
        "catalog.add_tag",
        "catalog.change_tag",
        "catalog.view_stock",
        "catalog.view_stockmovement",
        "catalog.view_stockalert",
        "orders.view_dispute",
        "orders.change_dispute",
        "orders.view_merchantorder",
        "orders.view_buyerorder",
        "orders.view_aftersalesrequest",
        "orders.view_complaint",
        "orders.view_review",
        # Reviews and complaints (issue #16): operations hide malicious reviews and handle
        # complaints (orders.permissions).
        "orders.change_complaint",
        "orders.change_review",
        # Members and RFM (issue #13): operations set the levels and read the analysis.
        "promotions.view_membershiplevel",
        "promotions.add_membershiplevel",
        "promotions.change_membershiplevel",
        "promotions.delete_membershiplevel",
        "promotions.view_membership",
        "promotions.view_membershipchange",
        "promotions.view_rfmscore",
        "promotions.view_promotion",
        "promotions.add_promotion",
        "promotions.change_promotion",
        "promotions.view_flashsale",
        "promotions.add_flashsale",
        "promotions.change_flashsale",
        "promotions.view_flashreservation",
        "promotions.view_groupbuycampaign",
        "promotions.change_groupbuycampaign",
        "promotions.view_groupbuygroup",
        "promotions.view_groupbuyparticipant",
        # Coupons (issue #13): operations look them up for buyers' questions; only services write them.
        "promotions.view_coupon",
        # Penalties and service fees (issue #14): operations raise penalties, decide appeals and
        # set the amounts, plans and prices; charges are billed by the platform.
        "settlements.view_penalty",
        "settlements.add_penalty",
        "settlements.change_penalty",
        "settlements.view_penaltyfile",
        "settlements.view_penaltyparameter",
        "settlements.change_penaltyparameter",
        "settlements.view_technicalservicefee",
        "settlements.change_technicalservicefee",
        "settlements.view_subscriptionplan",
        "settlements.add_subscriptionplan",
        "settlements.change_subscriptionplan",
        "settlements.view_valueaddedservice",
        "settlements.add_valueaddedservice",
        "settlements.change_valueaddedservice",
        "settlements.view_subscription",
        "settlements.view_feecharge",
        "settlements.add_feecharge",
        # Incentive subsidies (issue #14): operations run the programmes and decide grant applications.
        "settlements.view_subsidyprogramme",
        "settlements.add_subsidyprogramme",
        "settlements.change_subsidyprogramme",
        "settlements.view_subsidyaccrual",
        "settlements.view_grantapplication",
        "settlements.change_grantapplication",
        # Merchant quality (issue #15): operations set the rating weights and decide renewals.
        "risk.view_ratingweights",
        "risk.change_ratingweights",
        "risk.view_creditrating",
        "risk.view_quarterlyevaluation",
        "risk.view_requalificationreview",
        "risk.view_renewalcase",
        "risk.add_renewalcase",
        "risk.change_renewalcase",
        # Dashboards (issue #16): operations keep each category's TOP50 brand list; holding its
        # view permission (with the merchants' and orders') opens the operations dashboard
        # (orders.permissions.OPERATIONS_DASHBOARD_VIEW).
        "catalog.view_topbrand",
        "catalog.add_topbrand",
        "catalog.change_topbrand",
        "catalog.delete_topbrand",
        # Risk alerts (issue #15): operations work the queue and set each kind's owner.
        "risk.view_riskalert",
        "risk.change_riskalert",
        "risk.view_alertrule",
        "risk.add_alertrule",
        "risk.change_alertrule",
    ],
    FINANCE: [
        "marketplace.view_user",
        "marketplace.view_auditlogentry",
        "merchants.view_merchant",
        "merchants.view_contract",
        "merchants.view_depositentry",
        "merchants.add_depositentry",
        "merchants.view_bank_account",
        # Bank account changes (issue #15): finance verifies the new account before payouts use it.
        "merchants.view_bankaccountchange",
        "merchants.change_bankaccountchange",
        "orders.view_payment",
        "orders.view_refund",
        "orders.change_refund",
        "orders.view_gatewayevent",
        "orders.view_merchantorder",
        "settlements.view_settlementrun",
        "settlements.add_settlementrun",
        "settlements.view_statement",
        "settlements.add_statement",
        "settlements.change_statement",
        "settlements.view_statementline",
        "settlements.view_manualadjustment",
        "settlements.add_manualadjustment",
        "settlements.view_payoutbatch",
        "settlements.add_payoutbatch",
        "settlements.view_payout",
        "settlements.change_payout",
        "settlements.view_invoice",
        "settlements.add_invoice",
        "settlements.view_journalentry",
        "settlements.view_posting",
        "settlements.view_account",
        # Penalties and service fees (issue #14): finance deducts a standing penalty from the
        # deposit when operations ask, and reads what statements deduct.
        "settlements.view_penalty",
        "settlements.view_penaltyfile",
        "settlements.view_subscription",
        "settlements.view_feecharge",
        # Incentive subsidies (issue #14): what reaches the statements, read-only.
        "settlements.view_subsidyprogramme",
        "settlements.view_subsidyaccrual",
        "settlements.view_grantapplication",
        # Payout holds (issue #15): finance release them once the new bank account is checked.
        "settlements.view_payouthold",
        "settlements.change_payouthold",
    ],
}


def sync_staff_groups(*, strict: bool = False) -> dict[str, int]:
    """Give each staff group exactly its listed permissions; returns counts per group.

    Idempotent. With `strict`, a listed permission that does not exist is an error.
    """
    counts = {}
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        perms = []
        for entry in codenames:
            app_label, codename = entry.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is None:
                if strict:
                    raise LookupError(f"Permission {entry} does not exist.")
                continue
            perms.append(perm)
        group.permissions.set(perms)
        counts[name] = len(perms)
    return counts


def sync_staff_groups_after_migrate(sender, **kwargs):
    # Sent once per app; the sync is idempotent and cheap, and running it for every app
    # means no app's permissions are missed whatever the order. This receiver is connected
    # before django.contrib.auth's (marketplace comes first in INSTALLED_APPS), so for each app
    # it runs before auth creates that app's permissions: it creates them first (idempotent),
    # or the last app's (risk) would be missing from the groups after a fresh migrate.
    from django.contrib.auth.management import create_permissions

    create_permissions(**{**kwargs, "app_config": sender, "verbosity": 0})
    sync_staff_groups()
