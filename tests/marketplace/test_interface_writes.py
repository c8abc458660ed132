"""The admin, the API and the pages write only through services (house rule "Use cases").

Two guards: no write call in the source of an interface module, and no admin page that
saves or deletes with Django's default `save_model`/`delete_model` (which write the model
directly, with no audit row). What is left is listed below with the reason it may stay.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("marketplace", "merchants", "catalog", "orders", "settlements")
INTERFACE_FILES = {"views.py", "portal_views.py", "forms.py", "portal_forms.py", "admin.py", "auth_api.py"}
INTERFACE_FOLDERS = {"admin", "api"}
#: Methods that write whatever they are called on.
ALWAYS_WRITES = {"save", "delete"}
#: Methods that write when called on a manager or a queryset (elsewhere, e.g. `dict.update`, they do not).
QUERYSET_WRITES = {"create", "update", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
QUERYSET_HINTS = ("objects", ".filter(", ".exclude(", ".all(", "queryset")

#: (module path, method) allowed to stay, with why.
ALLOWED_CALLS = {
    # DRF's token table belongs to the API layer, which domain modules may not import.
    ("marketplace/auth_api.py", "get_or_create"),
}
#: Admin pages that still save with Django's defaults, with why.
ALLOWED_DEFAULT_ADMINS = {
    # Django's own user screens (passwords, groups, permissions): the framework's forms and audit.
    "marketplace.User",
}


def _interface_modules() -> list[Path]:
    paths = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT / app)
            if "migrations" in relative.parts:
                continue
            if path.name in INTERFACE_FILES or (len(relative.parts) > 1 and relative.parts[0] in INTERFACE_FOLDERS):
                paths.append(path)
    return paths


def _write_calls(path: Path) -> list[tuple[str, int, str]]:
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        receiver = ast.get_source_segment(source, node.func.value) or ""
        if method in ALWAYS_WRITES or (method in QUERYSET_WRITES and any(h in receiver for h in QUERYSET_HINTS)):
            found.append((str(path.relative_to(ROOT)), node.lineno, method))
    return found


def test_the_guard_sees_the_interface_modules_and_what_a_write_looks_like(tmp_path):
    names = {str(p.relative_to(ROOT)) for p in _interface_modules()}
    assert {"catalog/admin/categories.py", "orders/api/views.py", "merchants/views.py", "marketplace/admin.py"} <= names
    sample = tmp_path / "views.py"
    sample.write_text(
        "def view(request, form, qs):\n"
        "    form.save()\n"
        "    Tag.objects.create(name='x')\n"
        "    qs.filter(a=1).update(b=2)\n"
        "    context = {}\n"
        "    context.update(a=1)\n"
    )
    global ROOT
    root, ROOT = ROOT, tmp_path
    try:
        assert [(line, method) for _path, line, method in _write_calls(sample)] == [
            (2, "save"),
            (3, "create"),
            (4, "update"),
        ]
    finally:
        ROOT = root


def test_interface_modules_write_only_through_services():
    calls = [call for path in _interface_modules() for call in _write_calls(path)]
    unexpected = [f"{path}:{line} .{method}()" for path, line, method in calls if (path, method) not in ALLOWED_CALLS]
    assert unexpected == [], "call a service instead (it writes the audit row and owns the transaction)"


@pytest.mark.django_db
def test_admin_pages_that_save_or_delete_call_services():
    request = RequestFactory().get("/")
    request.user = get_user_model()(email="root@example.com", is_staff=True, is_superuser=True, is_active=True)
    defaults = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if model._meta.app_label not in APPS or label in ALLOWED_DEFAULT_ADMINS:
            continue
        cls = type(model_admin)
        saves = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        if saves and cls.save_model is admin.ModelAdmin.save_model:
            defaults.append(f"{label}: save_model")
        if model_admin.has_delete_permission(request) and (
            cls.delete_model is admin.ModelAdmin.delete_model or cls.delete_queryset is admin.ModelAdmin.delete_queryset
        ):
            defaults.append(f"{label}: delete_model/delete_queryset")
    assert defaults == [], "these admin pages write the model directly: route them through services"
