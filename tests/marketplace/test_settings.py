"""Settings read the environment and refuse unsafe production configurations."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "shop.example.com",
    "FIELD_ENCRYPTION_KEYS": "k1:00112233445566778899aabbccddeeff",
    "REDIS_URL": "redis://127.0.0.1:6399/0",
    "DATABASE_URL": "postgres://user:pass@127.0.0.1:5999/marketplace",
}


def _run(env_overrides, *args, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "SECRET_KEY", "DATABASE_URL"}}
    env.update(env_overrides)
    for key in drop:
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_a_broker_refuses_to_start():
    result = _run(PRODUCTION, "check", drop=["REDIS_URL"])
    assert result.returncode != 0
    assert "REDIS_URL must be set when DEBUG is off" in result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    result = _run(PRODUCTION, "check", drop=["SECRET_KEY"])
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_without_encryption_keys_refuses_to_start():
    result = _run(PRODUCTION, "check", drop=["FIELD_ENCRYPTION_KEYS"])
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_deploy_check_is_clean_with_production_values():
    result = _run(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_without_redis_runs_tasks_eagerly():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s;"
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], s.DATABASES['default']['ENGINE'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env["DEBUG"] = "1"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.db.backends.sqlite3",
    ]
