"""Settings of the marketplace, read from the environment (12-factor).

One module for every environment: `make run` (DEBUG, its own PostgreSQL, Redis and Celery
worker), `make test` (throwaway PostgreSQL and Redis) and production (docker-compose); all
of them on PostgreSQL, the only database engine the code supports. Values that change
between them come from environment variables, optionally from a `.env` file.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# --- Secrets -------------------------------------------------------------------------
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-secret-key-only-for-make-run-0123456789")
else:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (use a long random string).") from exc

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications --------------------------------------------------------------------
INSTALLED_APPS = [
    "marketplace.apps.MarketplaceConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    # Domain apps, in dependency order (architecture.md): each may import only those above it.
    "notifications.apps.NotificationsConfig",
    "merchants.apps.MerchantsConfig",
    "catalog.apps.CatalogConfig",
    "promotions.apps.PromotionsConfig",
    "orders.apps.OrdersConfig",
    "settlements.apps.SettlementsConfig",
    "risk.apps.RiskConfig",
    # The demo data of `make run` (seed_demo), above every domain app.
    "demo.apps.DemoConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketplace.middleware.AdminQueryNulMiddleware",
    # A database wait bound (DB_LOCK_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS) hit by a page → 503.
    "marketplace.middleware.ServerBusyMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.context_processors.cart_summary",
                "notifications.context_processors.notification_summary",
                # Last: a page rendered for the page cache carries a CSRF placeholder.
                "marketplace.pagecache.csrf_placeholder",
            ],
            "builtins": ["marketplace.templatetags.money"],
        },
    }
]

# --- Database ------------------------------------------------------------------------
# PostgreSQL only: the services rely on its locks, full-text search, JSON containment and
# triggers. The default is the server `make run` starts (bin/run-dev, DEV_PG_PORT), so
# `manage.py` commands reach the development database while it runs.
DEV_DATABASE_URL = f"postgres://postgres@127.0.0.1:{env.int('DEV_PG_PORT', default=25432)}/marketplace"
DATABASES = {"default": env.db("DATABASE_URL", default=DEV_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at a PostgreSQL database (postgres://user:pass@host:5432/name), "
        f"not {DATABASES['default']['ENGINE']}: the marketplace runs on PostgreSQL only."
    )
# Django's PostgreSQL backend with statements sized for server-side binding (at most 65,535
# parameters each: bulk writes batched, a larger `__in` bound client-side): marketplace/db/.
DATABASES["default"]["ENGINE"] = "marketplace.db.postgresql"
# Persistent connections: opening one costs PostgreSQL a process fork and an authentication,
# about 60 ms per request as measured for issue #12 (+45 % checkouts/s with reuse alone). Off
# with DEBUG on: runserver starts a thread per request, whose connection would never be reused.
# The health check (a cheap ping before reusing a connection in a new request) turns a
# connection the server dropped (restart, failover, idle timeout) into a reconnect, not a 500.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
# Prepared statements (on by default; DATABASE_SERVER_SIDE_BINDING=0 turns them off): psycopg
# binds parameters on the server and prepares a statement at its 5th use on a connection, so
# PostgreSQL stops parsing and planning the hot statements (the cart's and the checkout's) on
# every request. Django's defaults, client-side binding and no preparing, cost PostgreSQL
# 12.1–13.5 ms of CPU per order (2 adds + checkout, backend CPU from /proc, 150 orders in
# process, interleaved runs); server-side binding alone 14.0 ms; with preparing 5.7–6.1 ms.
# The suite runs with it (tests/conftest.py checks). With server-side binding the server types
# the parameters: a SELECT DISTINCT must order by expressions of its select list (the admin
# queues order by an annotation, marketplace.admin_tools.QueueOrderingMixin), a statement that
# takes no parameters (SET) has its value written in, and a statement carries at most 65,535
# parameters (the backend above batches bulk writes by it).
if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None
# Behind PgBouncer in transaction pooling mode, consecutive transactions of one connection may
# run on different server connections: a server-side cursor (`.iterator()`) could outlive its
# transaction, and psycopg's automatically prepared statements would be missing on the next
# server. The app keeps no other session state (its locks and SETs are transaction-scoped).
# So behind it psycopg prepares nothing: server-side binding stays on, each statement sent as
# an unnamed one with its parameters in the same message sequence, which any PgBouncer passes
# on (or set DATABASE_SERVER_SIDE_BINDING=0). Only PgBouncer 1.21+ with
# `max_prepared_statements` > 0 tracks prepared statements itself: behind such a one,
# DATABASE_PREPARE_THRESHOLD=5 keeps them (not measured here).
if env.bool("DATABASE_TRANSACTION_POOLING", default=False):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=0) or None
# Wait bounds (milliseconds, 0 = none), sent as the connection's startup options so they cost
# no round trip. gunicorn.conf.py sets web defaults (2 s for a lock, 5 s for a statement): a
# request that would queue on a hot row or run away answers 503 `server_busy` at once
# (marketplace.middleware.ServerBusyMiddleware and the API's exception handler) instead of
# holding a worker while clients pile up. Celery workers and management commands do not read
# gunicorn.conf.py, so their long statements (settlement runs, migrations) stay unbounded.
# Behind PgBouncer, set them on the web's database role instead (`ALTER ROLE … SET lock_timeout`).
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=0)
_WAIT_BOUNDS = [
    ("lock_timeout", DB_LOCK_TIMEOUT_MS),
    ("statement_timeout", env.int("DB_STATEMENT_TIMEOUT_MS", default=0)),
]
_wait_options = " ".join(f"-c {name}={ms}" for name, ms in _WAIT_BOUNDS if ms > 0)
if _wait_options:
    _options = DATABASES["default"]["OPTIONS"].get("options", "")
    DATABASES["default"]["OPTIONS"]["options"] = f"{_options} {_wait_options}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache ---------------------------------------------------------
# Like the database, one way everywhere: a real Redis is the broker and the cache (no
# in-process tasks, no in-memory cache). Without REDIS_URL, development uses the Redis that
# `make run` starts; production must say where its Redis is.
DEV_REDIS_URL = f"redis://127.0.0.1:{env.int('DEV_REDIS_PORT', default=26379)}/0"
REDIS_URL = env.str("REDIS_URL", default=DEV_REDIS_URL if DEBUG else "")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL must be set when DEBUG is off: Celery needs its broker in production "
        "(for example REDIS_URL=redis://localhost:6379/0)."
    )


def _redis_database(url: str, number: int) -> str:
    """The same Redis server, another database: the cache is flushed on its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


CACHES = {
    "default": {
        # Django's Redis cache with one client per process (marketplace/cache.py).
        "BACKEND": "marketplace.cache.RedisCache",
        "LOCATION": env.str("CACHE_REDIS_URL", default=_redis_database(REDIS_URL, 1)),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mp"),
    }
}

# Anonymous storefront pages and public catalog API reads served whole from the cache
# (marketplace/pagecache.py), invalidated precisely by the services that change what they show;
# this bounds a page's life whatever happens (a change no service announced). 0 turns it off,
# and the invalidations with it: clear the cache before turning it back on.
PAGE_CACHE_TTL = env.int("PAGE_CACHE_TTL", default=600)

# --- Users and authentication --------------------------------------------------------
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# A sign-up is confirmed by the link e-mailed to the address (no account before that).
SIGNUP_LINK_VALID_HOURS = env.int("SIGNUP_LINK_VALID_HOURS", default=72)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Brute-force protection: lock an email+address pair out after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Django's login form and our token endpoint both pass the email as `username`.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "marketplace.views.lockout_response"
AXES_VERBOSE = False

# --- Internationalisation ------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media files ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files live outside the web root and are served by views that check permissions.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ---------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@marketplace.local")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Sensitive fields: SM4-GCM ------------------------------------------------------
# "kid:32-hex-digit-key" entries, comma separated; the first encrypts, all decrypt, so a
# new key is put first and `manage.py rotate_field_keys` re-encrypts the old rows.
if DEBUG:
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["dev1:000102030405060708090a0b0c0d0e0f"])
else:
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
    if not FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off "
            "(for example FIELD_ENCRYPTION_KEYS=k1:<32 hex digits>)."
        )

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.authentication.TokenAuthentication",  # DRF's, its statement compiled once
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # DRF's own form and multipart parsers, and its JSON parser made safe against deep nesting.
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "marketplace.api.DefaultPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        # Each a Redis sorted set trimmed, counted and extended in one round trip.
        "marketplace.throttling.AnonymousRateThrottle",
        "marketplace.throttling.SignedInRateThrottle",  # the "user" rate, signed-in callers only
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
        "auth": env.str("THROTTLE_AUTH", default="20/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "marketplace.schema.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace API",
    "DESCRIPTION": (
        'Multi-vendor marketplace API. Errors are JSON objects `{"code", "message", "extra"}` whose `code` is stable.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and ReDoc come from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A promotion's scope is read with every choice and written by a merchant without
    # "platform": the full set gets its own name, the merchant's input keeps its own.
    "ENUM_NAME_OVERRIDES": {
        "PromotionScopeEnum": "promotions.choices.ScopeKind",
        "FlashSaleStateEnum": "promotions.choices.FlashSaleState",
        "FlashFundingEnum": "promotions.choices.FlashFunding",
    },
}

# --- Celery --------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Tasks always go through the broker to a worker, as in production (make run starts one); a
# test that wants a task run inline says so itself.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every periodic job of the platform, in one place. Later issues add theirs here.
CELERY_BEAT_SCHEDULE = {
    "audit-chain-verify-nightly": {
        "task": "marketplace.tasks.audit_chain_verify_task",
        "schedule": crontab(hour=3, minute=15),
    },
    "orders-cancel-expired-unpaid": {
        "task": "orders.tasks.cancel_expired_unpaid_task",
        "schedule": timedelta(minutes=1),
    },
    "orders-accept-overdue-after-sales": {
        "task": "orders.tasks.accept_overdue_requests_task",
        "schedule": crontab(minute="*/10"),
    },
    "orders-complete-overdue-shipped": {
        "task": "orders.tasks.complete_overdue_shipped_task",
        "schedule": crontab(minute=5),
    },
    "orders-refunds-pending-sweep": {
        "task": "orders.tasks.refunds_pending_sweep_task",
        "schedule": crontab(minute="*/5"),
    },
    # Gateway captures and refunds, deposits: their journal entries, within the minute.
    "settlements-ledger-post-pending": {
        "task": "settlements.tasks.ledger_post_pending_task",
        "schedule": timedelta(minutes=1),
    },
    # After midnight: the figures are as of the start of the day (Asia/Shanghai).
    "promotions-members-refresh-nightly": {
        "task": "promotions.tasks.members_refresh_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "promotions-coupon-expire-due": {
        "task": "promotions.tasks.coupon_expire_due_task",
        "schedule": crontab(minute=2),
    },
    # Cached pages show a promotion from its window's start to its end.
    "promotions-windows-pages-invalidate": {
        "task": "promotions.tasks.promotion_windows_pages_invalidate_task",
        "schedule": timedelta(minutes=1),
    },
    "promotions-flash-reservations-expire": {
        "task": "promotions.tasks.flash_reservations_expire_task",
        "schedule": timedelta(seconds=30),
    },
    # Also when a worker starts (worker_ready); rebuilds only a missing or stale state.
    "promotions-flash-sales-rebuild": {
        "task": "promotions.tasks.flash_sales_rebuild_task",
        "schedule": timedelta(minutes=1),
    },
    "orders-group-buys-close-due": {
        "task": "orders.tasks.group_buys_close_due_task",
        "schedule": timedelta(minutes=1),
    },
    # Penalties and service fees (issue #14): idempotent by their natural keys.
    "settlements-late-shipment-penalties": {
        "task": "settlements.tasks.late_shipment_penalties_raise_task",
        "schedule": crontab(minute=20),
    },
    "settlements-penalties-lapse": {
        "task": "settlements.tasks.penalties_lapse_task",
        "schedule": crontab(minute=25),
    },
    "settlements-fees-bill-due": {
        "task": "settlements.tasks.fees_bill_due_task",
        "schedule": crontab(hour=1, minute=10),
    },
    # Merchant quality (issue #15): idempotent by their natural keys (risk/services/quality.py).
    "risk-credit-ratings-nightly": {
        "task": "risk.tasks.credit_ratings_run_task",
        "schedule": crontab(hour=2, minute=45),
    },
    "risk-quarterly-evaluations": {
        "task": "risk.tasks.quarterly_evaluations_run_task",
        "schedule": crontab(hour=4, minute=0, day_of_month=1, month_of_year="1,4,7,10"),
    },
    # Yearly by the proposal; run monthly so a contract ending in any month is judged
    # `RENEWAL_NOTICE_DAYS` ahead (a term is judged once: one case per contract and end date).
    "risk-renewals-evaluate": {
        "task": "risk.tasks.renewals_evaluate_due_task",
        "schedule": crontab(hour=4, minute=30, day_of_month=1),
    },
    "risk-renewals-end-due": {
        "task": "risk.tasks.renewals_end_due_task",
        "schedule": crontab(hour=0, minute=40),
    },
    # Risk alerts (issue #15): nightly, after the day's figures; each job is idempotent.
    **{
        f"risk-alerts-{name.replace('_', '-')}": {
            "task": f"risk.tasks.alerts_{name}_task",
            "schedule": crontab(hour=4, minute=minute),
        }
        for minute, name in enumerate(
            (
                "complaint_rate",
                "return_rate_spike",
                "on_time_shipping",
                "stock_below_reorder",
                "slow_stock",
                "deposit_short",
                "documents",
                "negative_payable",
                "reconciliation",
            ),
            start=5,
        )
    },
}

# --- Security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "marketplace.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this site
# only, no inline script, style or on* handler anywhere (behaviour lives in static/js, looks
# in static/css; Swagger UI loads its init script from a URL). `data:` images: the SVG icons
# inside Swagger UI's and the admin's stylesheets. Forms post to this site only (a real
# payment gateway that takes a form post would be added to form-action).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # /healthz is probed over plain HTTP from inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging -------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Platform defaults (domain.md: each number lives in one place) -------------------
PLATFORM_NAME = _("Marketplace")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Uploaded pictures (documents, logos, product pictures, after-sales photos) with more pixels
# than this are refused from their header, before decoding (marketplace.images).
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=40_000_000)
# Merchants
MERCHANT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_EXPIRY_WARNING_DAYS = 30
DEFAULT_SETTLEMENT_DAYS = 15  # T+15
DEPOSIT_REFUND_WORKING_DAYS = 30
INVITATION_VALID_DAYS = 7
DEFAULT_CONTRACT_YEARS = 1
# Catalog
DEFAULT_COMMISSION_RATE = "0.1000"  # root default when no category on the path sets a rate
NEW_MERCHANT_BOOST_DAYS = 30  # traffic support: new merchants' products first in listings
PRODUCT_IMAGE_MAX_BYTES = 10 * 1024 * 1024
PRODUCT_THUMBNAIL_SIZES = {"small": 200, "medium": 600}
PRODUCT_IMAGE_MAX_SIDE = 1600
REPLENISHMENT_HISTORY_DAYS = 28
# Stock rows are locked for reservations: a waiter gives up after this (never hangs).
STOCK_LOCK_TIMEOUT_MS = env.int("STOCK_LOCK_TIMEOUT_MS", default=2000)
# Orders
ORDER_PAYMENT_MINUTES = 30  # unpaid orders cancel themselves after this
ORDER_AUTO_COMPLETE_DAYS = 10  # completed automatically this long after shipping
LAUNCH_POLICY_MONTHS = 3  # commission × 0.5 in the first three calendar months live
LAUNCH_POLICY_FACTOR = "0.5"
GRADE_A_FACTOR = "0.9"
DEFAULT_SHIPPING_FEE = "8.00"  # per merchant order, when the merchant set no rate
DEFAULT_FREE_SHIPPING_OVER = "99.00"
AFTER_SALES_RESPONSE_HOURS = 48  # the merchant answers within this, else accepted automatically
# The sandbox gateway lets a buyer mark their own order paid and a merchant its deposit: on
# in development, off in production unless explicitly enabled (e.g. a staging or demo
# deployment). Its routes and services read the flag at call time (marketplace/sandbox.py).
SANDBOX_GATEWAY_ENABLED = env.bool("SANDBOX_GATEWAY_ENABLED", default=DEBUG)
# Its callbacks are signed with this secret. The development default is public (it is in
# this file), so with it anyone could sign "payment succeeded": with DEBUG off the secret
# must be set, long, and not that default, whether the sandbox is on or off (switching it
# on later must not expose a known secret). `check --deploy` names the same problems.
SANDBOX_GATEWAY_DEVELOPMENT_SECRET = "sandbox-secret-change-me"
SANDBOX_GATEWAY_SECRET_MIN_LENGTH = 32
SANDBOX_GATEWAY_SECRET = env.str("SANDBOX_GATEWAY_SECRET", default=SANDBOX_GATEWAY_DEVELOPMENT_SECRET if DEBUG else "")
if not DEBUG and (
    SANDBOX_GATEWAY_SECRET == SANDBOX_GATEWAY_DEVELOPMENT_SECRET
    or len(SANDBOX_GATEWAY_SECRET.strip()) < SANDBOX_GATEWAY_SECRET_MIN_LENGTH
):
    raise ImproperlyConfigured(
        "SANDBOX_GATEWAY_SECRET must be set when DEBUG is off, to a random string of at least "
        f"{SANDBOX_GATEWAY_SECRET_MIN_LENGTH} characters that is not the development default "
        "(it signs the sandbox gateway's payment callbacks)."
    )
GATEWAY_CALLBACK_TOLERANCE_SECONDS = 300
# A gateway adapter gives up on a call after this (GatewayTimeout), well within the time
# limit of the refund task.
GATEWAY_TIMEOUT_SECONDS = 30
# Refunds: transient gateway errors are retried (30 s, 1, 2, 4 … minutes, at most 15) until
# this many attempts, then the refund is marked failed for staff. A pending refund whose
# next attempt is this many minutes overdue lost its task: the sweep enqueues it again.
REFUND_MAX_ATTEMPTS = 6
REFUND_SWEEP_MINUTES = 15
# Promotions: flash sales. An admitted buyer holds the units this long (then the expiry job
# returns them to the sale). The admission state lives in this Redis (the broker's by default);
# it is rebuilt from the database when lost.
FLASH_SALE_HOLD_MINUTES = env.int("FLASH_SALE_HOLD_MINUTES", default=5)
FLASH_SALE_REDIS_URL = env.str("FLASH_SALE_REDIS_URL", default=REDIS_URL)
FLASH_SALE_KEY_PREFIX = env.str("FLASH_SALE_KEY_PREFIX", default="flash")
# A signed-in buyer's API token is looked up once per this many seconds at admission (then
# from the cache): the admission answers a burst without a database query.
FLASH_SALE_TOKEN_CACHE_SECONDS = env.int("FLASH_SALE_TOKEN_CACHE_SECONDS", default=60)
# Settlements
SETTLEMENT_BATCH_SIZE = env.int("SETTLEMENT_BATCH_SIZE", default=2000)
# Penalties: the merchant may appeal this long after a penalty is raised; an order paid this
# long ago and not shipped is late (the promised shipping time); the rule looks back this far.
PENALTY_APPEAL_DAYS = env.int("PENALTY_APPEAL_DAYS", default=7)
PROMISED_SHIPPING_HOURS = 48
LATE_SHIPMENT_LOOKBACK_DAYS = 7
# Risk alerts (issue #15; the rules are in risk/services/alerts.py). Complaint rate: above
# this share of the orders paid in the window, with at least this many orders.
RISK_COMPLAINT_DAYS = 30
RISK_COMPLAINT_RATE = "0.05"
RISK_COMPLAINT_MIN_ORDERS = 20
# Return-rate spike: the last 7 days against the 30 before, at least twice the rate and 5
# points above it, on at least 10 recent orders.
RISK_RETURN_RECENT_DAYS = 7
RISK_RETURN_BASELINE_DAYS = 30
RISK_RETURN_SPIKE_FACTOR = "2"
RISK_RETURN_SPIKE_POINTS = "0.05"
RISK_RETURN_MIN_ORDERS = 10
# On-time shipping falling: the last 14 days 10 points or more below the 30 before, each
# window with at least 20 orders due.
RISK_SHIPPING_RECENT_DAYS = 14
RISK_SHIPPING_BASELINE_DAYS = 30
RISK_SHIPPING_DROP_POINTS = "0.10"
RISK_SHIPPING_MIN_ORDERS = 20
# Slow stock: turnover days (on hand ÷ daily units shipped over the window) above this (the
# admin's alert rule may set another).
RISK_SLOW_STOCK_DAYS = 90
RISK_TURNOVER_WINDOW_DAYS = 30
RISK_QUARTERLY_MIN_SCORE = 80
# A bank account changed this close to a payout (either side) holds the merchant's payouts.
PAYOUT_HOLD_WINDOW_DAYS = 7
# Ladder commission of strategic contracts: whole-volume steps on monthly net sales.
DEFAULT_LADDER_STEPS = [
    {"min_net_sales": "1000000.00", "points": "1"},
    {"min_net_sales": "5000000.00", "points": "2"},
]
