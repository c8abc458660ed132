"""Demo data for `make run`. Idempotent: a second run changes nothing.

Each step seeds one area (demo/<area>.py) in its own transaction, in dependency order.
"""

from django.core.management.base import BaseCommand

from demo.catalog import seed_categories, seed_tags, seed_top_brands, seed_warehouses
from demo.charges import seed_charges
from demo.ledger import seed_ledger
from demo.merchant_changes import seed_merchant_changes
from demo.merchants import seed_merchants
from demo.orders import seed_orders
from demo.products import seed_products
from demo.quality import seed_quality
from demo.risk_alerts import seed_risk_alerts
from demo.settlements import seed_settlements
from demo.subsidies import seed_subsidies
from demo.users import DEMO_LOGINS, DEMO_PASSWORD, seed_users

DEMO_STEPS = [
    ("users", seed_users),
    ("categories", seed_categories),
    ("tags", seed_tags),
    ("merchants", seed_merchants),
    ("warehouses", seed_warehouses),
    ("products", seed_products),
    ("top brands", seed_top_brands),
    ("orders", seed_orders),
    # Penalties and service fees (issue #14): before the runs that deduct them.
    ("charges", seed_charges),
    # Before the settlement runs: they accrue the logistics subsidy and pay the approved grant.
    ("subsidies", seed_subsidies),
    ("settlements", seed_settlements),
    ("ledger", seed_ledger),
    # Merchant quality (issue #15): ratings, a requalification review, a renewal to decide.
    ("quality", seed_quality),
    # Risk alerts (issue #15): after the settlements, whose owed statement the payout hold holds.
    ("risk alerts", seed_risk_alerts),
    # The merchant's changes after approval (issue #15): waiting for staff and the merchant.
    ("merchant changes", seed_merchant_changes),
]


class Command(BaseCommand):
    help = "Create demo staff, buyers, merchants, catalog, orders and settlements. Idempotent."

    def handle(self, *args, **options):
        for name, step in DEMO_STEPS:
            # No transaction around a step: the services own theirs, and a use case that spans
            # apps (approving a merchant with its grants) is durable, so it refuses to be nested.
            # A step stopped halfway keeps what its services committed (start afresh to redo it).
            created = step(self.stdout)
            self.stdout.write(f"seed_demo: {name}: {created} created")
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for email, role in DEMO_LOGINS:
            self.stdout.write(f"  {email:<24} {role}")
