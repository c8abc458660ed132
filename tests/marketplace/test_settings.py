"""Settings read the environment and refuse unsafe production configurations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "shop.example.com",
    "FIELD_ENCRYPTION_KEYS": "k1:00112233445566778899aabbccddeeff",
    "REDIS_URL": "redis://127.0.0.1:6399/0",
    "DATABASE_URL": "postgres://user:pass@127.0.0.1:5999/marketplace",
    "SANDBOX_GATEWAY_SECRET": "s" * 20 + "-production-sandbox-secret-0123456789",
}


def _run(env_overrides, *args, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "SECRET_KEY", "DATABASE_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith("SANDBOX_GATEWAY_")}
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


@pytest.mark.parametrize(
    "secret",
    [
        None,  # not set
        "",
        "   ",
        "sandbox-secret-change-me",  # the public development default
        "change-me",
        "x" * 31,
    ],
)
def test_production_without_a_private_sandbox_secret_refuses_to_start(secret):
    # With the public default, anyone could sign "payment succeeded" for any order.
    overrides = PRODUCTION if secret is None else {**PRODUCTION, "SANDBOX_GATEWAY_SECRET": secret}
    result = _run(overrides, "check", drop=["SANDBOX_GATEWAY_SECRET"] if secret is None else ())
    assert result.returncode != 0
    assert "SANDBOX_GATEWAY_SECRET must be set when DEBUG is off" in result.stderr


def test_production_refuses_the_default_sandbox_secret_even_with_the_sandbox_off():
    result = _run({**PRODUCTION, "SANDBOX_GATEWAY_ENABLED": "0"}, "check", drop=["SANDBOX_GATEWAY_SECRET"])
    assert result.returncode != 0
    assert "SANDBOX_GATEWAY_SECRET must be set when DEBUG is off" in result.stderr


def test_production_with_a_private_sandbox_secret_starts_with_the_sandbox_off():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s; print(s.SANDBOX_GATEWAY_ENABLED)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "SECRET_KEY", "DATABASE_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith("SANDBOX_GATEWAY_")}
    env.update(PRODUCTION)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


def test_deploy_check_names_a_public_sandbox_secret_and_an_enabled_sandbox():
    # With DEBUG on the settings start with the development secret; the deploy check is the
    # one that names it (and the enabled sandbox), as it names DEBUG itself.
    result = _run({**PRODUCTION, "DEBUG": "1"}, "check", "--deploy", drop=["SANDBOX_GATEWAY_SECRET"])
    assert result.returncode != 0
    assert "marketplace.E001" in result.stderr
    assert "SANDBOX_GATEWAY_SECRET is the public development default" in result.stderr
    assert "marketplace.W001" in result.stderr
    assert "SANDBOX_GATEWAY_ENABLED is on" in result.stderr


def test_deploy_check_warns_when_production_enables_the_sandbox():
    result = _run({**PRODUCTION, "SANDBOX_GATEWAY_ENABLED": "1"}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "marketplace.W001" in result.stderr
    assert "marketplace.E001" not in result.stderr


def test_deploy_check_is_clean_with_production_values():
    result = _run(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_redis_url_development_uses_make_runs_redis_for_tasks_and_cache():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s; c = s.CACHES['default'];"
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, c['BACKEND'], c['LOCATION'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_REDIS_URL", "DEV_REDIS_PORT"}}
    env["DEBUG"] = "1"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "redis://127.0.0.1:26379/0",
        "marketplace.cache.RedisCache",
        "redis://127.0.0.1:26379/1",
    ]


def test_without_database_url_the_database_is_make_runs_postgresql():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['HOST'], d['PORT'], d['NAME'], d['USER'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEV_PG_PORT"}}
    env["DEBUG"] = "1"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["marketplace.db.postgresql", "127.0.0.1", "25432", "marketplace", "postgres"]


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite3", "mysql://user:pass@127.0.0.1:3306/marketplace"])
def test_settings_refuse_a_database_other_than_postgresql(url):
    result = _run({"DEBUG": "1", "DATABASE_URL": url}, "check")
    assert result.returncode != 0
    assert "DATABASE_URL must point at a PostgreSQL database" in result.stderr
    assert "the marketplace runs on PostgreSQL only" in result.stderr


def _database_settings(overrides, drop=()):
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
        " d['OPTIONS'].get('prepare_threshold', 'default'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "SECRET_KEY", "DATABASE_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("SANDBOX_GATEWAY_", "CONN_", "DATABASE_"))}
    env.update(overrides)
    for key in drop:
        env.pop(key, None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Production reuses connections (a new one costs ~60 ms), checked before each request,
        # and binds server-side: a statement is prepared at its 5th use on a connection.
        (PRODUCTION, ["600", "True", "False", "5"]),
        ({**PRODUCTION, "CONN_MAX_AGE": "60"}, ["60", "True", "False", "5"]),
        # runserver's thread per request could never reuse one.
        ({**PRODUCTION, "DEBUG": "1"}, ["0", "True", "False", "5"]),
        ({**PRODUCTION, "DATABASE_PREPARE_THRESHOLD": "0"}, ["600", "True", "False", "None"]),
        # Django's default, client-side binding, never prepares.
        ({**PRODUCTION, "DATABASE_SERVER_SIDE_BINDING": "0"}, ["600", "True", "False", "default"]),
        # PgBouncer transaction pooling: no server-side cursors, no prepared statements, unless
        # asked for (PgBouncer 1.21+ with max_prepared_statements).
        ({**PRODUCTION, "DATABASE_TRANSACTION_POOLING": "1"}, ["600", "True", "True", "None"]),
        (
            {**PRODUCTION, "DATABASE_TRANSACTION_POOLING": "1", "DATABASE_SERVER_SIDE_BINDING": "1"},
            ["600", "True", "True", "None"],
        ),
        (
            {
                **PRODUCTION,
                "DATABASE_TRANSACTION_POOLING": "1",
                "DATABASE_SERVER_SIDE_BINDING": "1",
                "DATABASE_PREPARE_THRESHOLD": "5",
            },
            ["600", "True", "True", "5"],
        ),
    ],
)
def test_database_connections_are_reused_in_production_and_checked_before_reuse(overrides, expected):
    assert _database_settings(overrides) == expected


def test_gunicorn_runs_two_sync_workers_per_core_from_its_one_config_file(monkeypatch):
    import multiprocessing
    import runpy

    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS"):  # the file sets them: restore their absence
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["workers"], config["worker_class"], config["threads"], config["bind"], config["timeout"]) == (
        2 * multiprocessing.cpu_count(),
        "sync",
        1,
        "0.0.0.0:8000",
        30,
    )
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "")
    overridden = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["accesslog"], overridden["workers"], overridden["accesslog"]) == ("-", 5, None)
    # The image and the compose file leave workers and threads to that file.
    for deploy_file in ("Dockerfile", "docker-compose.yml"):
        text = (ROOT / deploy_file).read_text()
        assert '["gunicorn", "marketplace.wsgi"]' in text
        assert "--workers" not in text
