"""The promotions tests start from the membership levels the migration makes: a transactional
test earlier in the session flushes the tables, and with them a data migration's rows."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps

import promotions.migrations

# Found by its name, whatever number the migration gets when branches are merged.
(_path,) = Path(promotions.migrations.__file__).parent.glob("*_members_rfm.py")
_migration = importlib.import_module(f"promotions.migrations.{_path.stem}")


@pytest.fixture(autouse=True)
def _default_levels(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    _migration.default_levels(apps, None)
