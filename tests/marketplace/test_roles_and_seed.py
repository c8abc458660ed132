import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from marketplace.roles import ROLE_PERMISSIONS, sync_staff_groups

pytestmark = pytest.mark.django_db


def test_staff_groups_exist_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {"reviewer", "operations", "finance"}
    for name, entries in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert have == set(entries), name


def test_every_listed_permission_exists():
    sync_staff_groups(strict=True)  # raises LookupError on a typo or a removed model


def test_seed_demo_is_idempotent(capsys, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    # A smaller catalog keeps this test quick; tests/catalog/test_demo.py checks the full one.
    monkeypatch.setattr("demo.products.PRODUCTS_PER_SHOP", 5)
    call_command("seed_demo")
    first_users = list(get_user_model().objects.order_by("email").values_list("email", "is_staff", "password"))
    call_command("seed_demo")
    second_users = list(get_user_model().objects.order_by("email").values_list("email", "is_staff", "password"))
    assert first_users == second_users
    assert len(first_users) == 22  # 4 staff, 3 buyers, 15 merchant owners
    out = capsys.readouterr().out
    assert "seed_demo: users: 7 created" in out
    assert "seed_demo: users: 0 created" in out
    assert "seed_demo: merchants: 15 created" in out
    assert "seed_demo: merchants: 0 created" in out
    for step, count in [
        ("categories", 33),
        ("tags", 20),
        ("warehouses", 17),
        ("products", 20),
        ("merchant changes", 3),  # issue #15: a bank change, a renewal and an amendment waiting
    ]:
        assert f"seed_demo: {step}: {count} created" in out
        assert f"seed_demo: {step}: 0 created" in out
    from collections import Counter

    from merchants.models import Merchant

    statuses = Counter(Merchant.objects.values_list("status", flat=True))
    assert statuses == {
        "live": 4,
        "submitted": 2,
        "deposit_paid": 1,
        "contract_signed": 1,
        "approved": 1,
        "under_review": 1,
        "changes_requested": 1,
        "rejected": 1,
        "draft": 1,
        "suspended": 1,
        "terminated": 1,
    }
    live = Merchant.objects.filter(status="live")
    assert {m.tier.code for m in live} == {"core", "potential", "strategic"}
    assert {m.cooperation_mode for m in live} == {"platform_entry", "joint_operation", "franchise"}
    finance = get_user_model().objects.get(email="finance@demo.local")
    assert list(finance.groups.values_list("name", flat=True)) == ["finance"]
