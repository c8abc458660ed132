"""Demo data for `make run`. Idempotent: a second run changes nothing.

Later issues extend `DEMO_STEPS` with their own seeding functions (merchants, catalog, …).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from marketplace.roles import FINANCE, OPERATIONS, REVIEWER, sync_staff_groups

DEMO_PASSWORD = "demo-pass-2026"

STAFF = [
    # email, first name, last name, groups, superuser
    ("admin@demo.local", "Ada", "Admin", [], True),
    ("reviewer@demo.local", "Rui", "Reviewer", [REVIEWER], False),
    ("ops@demo.local", "Ou", "Operations", [OPERATIONS], False),
    ("finance@demo.local", "Fang", "Finance", [FINANCE], False),
]
BUYERS = [
    ("buyer1@demo.local", "Li", "Na", "13800000001"),
    ("buyer2@demo.local", "Wang", "Wei", "13800000002"),
    ("buyer3@demo.local", "Zhang", "Min", "13800000003"),
]

# (email, role) pairs printed by `make run` and listed in the README.
DEMO_LOGINS = [
    *[(s[0], "superuser" if s[4] else ", ".join(s[3])) for s in STAFF],
    *[(b[0], "buyer") for b in BUYERS],
    ("merchant1@demo.local … merchant15@demo.local", "merchant owners, one per state (1–4 live)"),
]


def _user(email, first, last, *, phone="", staff=False, superuser=False):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        email=email,
        defaults={
            "first_name": first,
            "last_name": last,
            "phone": phone,
            "is_staff": staff or superuser,
            "is_superuser": superuser,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user, created


def seed_users(stdout) -> int:
    sync_staff_groups()
    created_count = 0
    for email, first, last, groups, superuser in STAFF:
        user, created = _user(email, first, last, staff=True, superuser=superuser)
        if groups:
            user.groups.add(*Group.objects.filter(name__in=groups))
        created_count += created
    for email, first, last, phone in BUYERS:
        _user_obj, created = _user(email, first, last, phone=phone)
        created_count += created
    return created_count


def _later_steps():
    # Imported here: the kernel's command runs the seeding of every app, in dependency order.
    from catalog.management.demo import seed_categories, seed_products, seed_tags, seed_warehouses
    from merchants.management.demo import seed_merchants
    from orders.management.demo import seed_orders
    from settlements.management.demo import seed_settlements

    return [
        ("categories", seed_categories),
        ("tags", seed_tags),
        ("merchants", seed_merchants),
        ("warehouses", seed_warehouses),
        ("products", seed_products),
        ("orders", seed_orders),
        ("settlements", seed_settlements),
    ]


DEMO_STEPS = [("users", seed_users)]


class Command(BaseCommand):
    help = "Create demo staff, buyers and (as the apps grow) merchants, catalog and orders. Idempotent."

    def handle(self, *args, **options):
        for name, step in [*DEMO_STEPS, *_later_steps()]:
            # No transaction around a step: the services own theirs, and a use case that spans
            # apps (approving a merchant with its grants) is durable, so it refuses to be nested.
            # A step stopped halfway keeps what its services committed (start afresh to redo it).
            created = step(self.stdout)
            self.stdout.write(f"seed_demo: {name}: {created} created")
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for email, role in DEMO_LOGINS:
            self.stdout.write(f"  {email:<24} {role}")
