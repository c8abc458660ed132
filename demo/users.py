"""Demo staff (one per staff group and a superuser) and buyers; every demo account has the
password DEMO_PASSWORD."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

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
