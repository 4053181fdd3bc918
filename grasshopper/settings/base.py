"""Grasshopper settings: one module, configured only from the environment.

With no environment at all the project runs on the embedded defaults (SQLite file, local-memory cache,
Celery eager, console email, DEBUG on). With ``DJANGO_DEBUG=false`` the production secrets have no
defaults: a missing one stops start-up with one line naming it. Every variable is listed, with a comment,
in ``.env.example``.
"""

import logging
import sys
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_missing: list[str] = []


def _required(name: str, *, debug_default: str) -> str:
    """A variable production must set; in DEBUG it falls back to ``debug_default``."""
    value = env.str(name, default="").strip()
    if value:
        return value
    if DEBUG:
        return debug_default
    _missing.append(name)
    return ""


SECRET_KEY = _required(
    "DJANGO_SECRET_KEY", debug_default="django-insecure-grasshopper-dev-only-key-never-use-in-production"
)
DATABASE_URL = _required("DATABASE_URL", debug_default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
REDIS_URL = _required("REDIS_URL", debug_default="")
ALLOWED_HOSTS = [
    h.strip()
    for h in _required("DJANGO_ALLOWED_HOSTS", debug_default="127.0.0.1,localhost").split(",")
    if h.strip()
]

if _missing:
    # One clear line, no traceback wall: SystemExit prints its message and exits with status 1.
    raise SystemExit(
        f"Grasshopper configuration error: {', '.join(_missing)} must be set when DJANGO_DEBUG=false "
        "(see .env.example)."
    )

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Where the site is reached, for links in emails and the offline Stripe pages.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "Grasshopper"

# --- Applications -------------------------------------------------------------------------------------

INSTALLED_APPS = [
    # django-unfold themes the admin: it must come before django.contrib.admin.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # third party
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "simple_history",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "django_htmx",
    "template_partials",
    "csp",
    "django_celery_beat",
    "health_check",
    "django_structlog",  # its ready() carries request_id/user_id into Celery task logs
    "djstripe",  # Stripe webhooks (signature check, storage, dedup, sync); orders' receivers react
    # ours, lowest layer first
    "grasshopper.lib",
    "accounts",
    "events",
    "orders",
    "loyalty",
    "waitlist",
    "notifications",
    "grasshopper.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "grasshopper.lib.api_csp.CSPMiddleware",  # django-csp's, with one fixed policy for /api/v1/
    # Right after django-csp: admin pages only get what django-unfold needs added (see the admin block).
    "grasshopper.lib.admin_csp.admin_csp_middleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Forgets the referral link's cookie once a sign-up has used it (loyalty.referral_cookie).
    "loyalty.referral_cookie.referral_cookie_middleware",
    "grasshopper.lib.middleware.RequestMiddleware",  # django-structlog's, lighter for anonymous requests
    "grasshopper.lib.middleware.request_id_header_middleware",
    # Turns django_ratelimit.exceptions.Ratelimited into our 429 page (RATELIMIT_VIEW).
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Records who made each change in the admin into the simple-history rows.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "grasshopper.urls"
WSGI_APPLICATION = "grasshopper.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "grasshopper.lib.context_processors.site",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------------------------

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameter binding: psycopg sends the values apart from the SQL (the extended protocol)
    # instead of quoting them into it in Python, and prepares a statement the fifth time a connection runs
    # it, so PostgreSQL stops parsing and planning the statements every request repeats. Measured on the flash
    # sale (bench/README.md): ~1 ms of web-server CPU and ~0.9 ms of PostgreSQL CPU less per API order.
    # Django leaves both off for connection poolers in transaction mode (PgBouncer before 1.21, or without
    # max_prepared_statements): behind one, set DATABASE_PREPARED_STATEMENTS=false.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=env.bool("DATABASE_SERVER_SIDE_BINDING", default=True),
        prepare_threshold=5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="gh"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "grasshopper"}
    }

# --- Accounts and authentication ------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, reading the signed-in user with a query compiled once (accounts/backends.py).
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# django-allauth: email is the login, verified before first sign-in.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Grasshopper] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# The base of allauth's signup forms (pages and headless): optional full name, per-address signup limit.
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# allauth's own limits, counted in the shared cache ("key" = the email address tried). Every limit answers
# HTTP 429: allauth's own 429s render templates/429.html; "login_failed" (allauth only adds a form error)
# and "signup_email" (ours) are turned into 429s by accounts.ratelimits, which logs them on `security`.
# The client IP is the one django-ratelimit uses (RATELIMIT_IP_META_KEY), see AccountAdapter.get_client_ip.
# (bandit B105 is silenced on the entries whose names contain "password": the values are rates.)
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/m/ip,5/m/key",
    "signup": "10/m/ip",
    "signup_email": "5/m/key",
    "reset_password": "5/m/ip,3/m/key",  # nosec B105
    "reset_password_from_key": "10/m/ip",  # nosec B105
    "confirm_email": "3/m/key",
    "change_password": "5/m/user",  # nosec B105
}
# Mobile clients use allauth headless (the "app" client sends the X-Session-Token header); why session
# tokens rather than DRF tokens: see the docstring of accounts/api/views.py.
HEADLESS_ONLY = False
HEADLESS_CLIENTS = ("app", "browser")
# One read of the session store per API call instead of allauth's two (accounts/api/tokens.py).
HEADLESS_TOKEN_STRATEGY = "accounts.api.tokens.SessionTokenStrategy"  # noqa: S105 # nosec B105 - a class path

# --- Internationalisation and time ----------------------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ----------------------------------------------------------------------------------------------

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Grasshopper <tickets@grasshopper.localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# An email service provider through django-anymail instead of EMAIL_URL: its backend name (mailgun,
# postmark, amazon_ses...) and its settings from the ANYMAIL_* variables (ANYMAIL_MAILGUN_API_KEY -> ANYMAIL
# {"MAILGUN_API_KEY": ...}).
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").strip()
if EMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    ANYMAIL = {
        name[len("ANYMAIL_") :]: value for name, value in env.ENVIRON.items() if name.startswith("ANYMAIL_")
    }

# --- Security -------------------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    # Only behind a proxy that sets this header itself (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes reach the process over plain HTTP from inside the network, without the proxy's
# X-Forwarded-Proto: redirected, they would get a 301, which most orchestrators count as healthy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions (browser cookies and the mobile apps' X-Session-Token) are read from the shared cache and
# written through to the database: a signed-in API call costs no session query (flash-sale benchmark).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
# The token reaches htmx through the page (hx-headers on <body>), so scripts never need the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "grasshopper.views.csrf_failure"

# django-csp 4: strict policy, scripts only from us or with the per-request nonce; no inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Responses under these paths are JSON data and get grasshopper.lib.api_csp's fixed policy (nothing may load).
API_CONTENT_SECURITY_POLICY_PREFIXES = ["/api/v1/"]

# django-ratelimit (HTML forms): counted in the shared cache; blocked requests get our 429 page.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "grasshopper.views.ratelimited"
RATELIMIT_IP_META_KEY = env.str("DJANGO_RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")

# --- API ------------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "grasshopper.lib.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Proxies in front of the app, so throttles key on the client IP and not the proxy's.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=None),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="240/min"),
    },
    # drf-standardized-errors' AutoSchema, documenting our problem+json error shape (grasshopper.lib.api).
    "DEFAULT_SCHEMA_CLASS": "grasshopper.lib.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_FORMATTER_CLASS": "grasshopper.lib.api.errors.ProblemFormatter",
    "EXCEPTION_HANDLER_CLASS": "grasshopper.lib.api.errors.ProblemExceptionHandler",
    # Unhandled exceptions are rendered in the same shape even with DEBUG on (never an HTML page).
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Grasshopper API",
    "DESCRIPTION": "Tickets for live music and events. Mobile clients authenticate with an "
    "`X-Session-Token` from allauth headless (`/_allauth/app/v1/auth/login`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        # Several models have a `status`: each choice set gets its own name.
        "EventStatusEnum": "events.models.Event.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "TicketStatusEnum": "orders.models.Ticket.Status",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

# --- Celery ---------------------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
# Eager (tasks run in-process) only when no broker is configured: the embedded default.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs are declared here (later issues add theirs); beat's DatabaseScheduler copies them to the DB.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Expire lapsed order holds (correctness does not depend on it: a reserve reclaims expired holds).
    "orders-expire-due": {"task": "orders.expire_due", "schedule": 60.0},
    # Settle payments stuck open longer than PAYMENTS_STUCK_MINUTES (a lost webhook) by asking Stripe.
    "orders-payments-reconcile-stuck": {"task": "orders.payments_reconcile_stuck", "schedule": 300.0},
    # dj-stripe keeps every webhook request (headers, payload: personal data); keep them only a while.
    "stripe-webhook-triggers-prune": {"task": "orders.stripe_webhook_triggers_prune", "schedule": 3600.0},
}

# --- Logging, monitoring --------------------------------------------------------------------------------

from grasshopper.lib.logging import build_logging  # noqa: E402

LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = build_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# One line per request: request_finished (or request_failed) carries everything; request_started is DEBUG.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
# Keep the caller's X-Request-ID (a proxy's or the mobile app's) when it looks like an id; see
# grasshopper.lib.logging_signals, which replaces anything else with a fresh UUID.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# The log's "ip" is the rate limits' client IP (RATELIMIT_IP_META_KEY): see grasshopper.lib.logging_signals.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from grasshopper.lib.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Admin contact for the home of error mails and the staff demo user.
ADMINS = [("Grasshopper admins", a) for a in env.list("DJANGO_ADMINS", default=[])]

TESTING = "pytest" in sys.modules

# --- Admin (django-unfold) ----------------------------------------------------------------------------

UNFOLD = {
    "SITE_TITLE": "Grasshopper admin",
    "SITE_HEADER": "Grasshopper",
    "SITE_SUBHEADER": "Staff and organizers",
    "SITE_URL": "/",
    # A Material Symbols glyph: the font ships in unfold's own static files, nothing loads from a CDN.
    "SITE_SYMBOL": "confirmation_number",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
}
# Added to CONTENT_SECURITY_POLICY on admin pages only (grasshopper.lib.admin_csp), as measured in
# chromium on unfold 0.91 (the browser tests in events/tests/test_admin.py read the console for CSP errors):
# - 'unsafe-eval': unfold ships the standard Alpine.js build, which compiles every x-data/x-on/x-bind
#   expression with `new Function`; without it no menu, tab, filter sheet or theme switch works.
# - style-src 'unsafe-inline': unfold writes a <style> element (theme colours, list layout) and Alpine
#   sets `style` attributes (x-bind:style); a nonce cannot cover attributes.
# Scripts still come only from our own origin: no 'unsafe-inline' for scripts, no other hosts.
ADMIN_CONTENT_SECURITY_POLICY_UPDATE: dict[str, list[str]] = {
    "script-src": ["'unsafe-eval'"],
    "style-src": ["'unsafe-inline'"],
}

# --- Orders -----------------------------------------------------------------------------------------------

# Minutes a pending order holds its seats, and the one extension a buyer may ask for (WCAG 2.2.1).
ORDER_HOLD_MINUTES = env.int("ORDER_HOLD_MINUTES", default=15)
ORDER_HOLD_EXTENSION_MINUTES = env.int("ORDER_HOLD_EXTENSION_MINUTES", default=5)
# Order creation rate limit per user/IP (django-ratelimit syntax), and a switch for load tests.
ORDERS_RATE_LIMIT = env.str("ORDERS_RATE_LIMIT", default="10/m")
ORDERS_RATE_LIMIT_ENABLED = env.bool("ORDERS_RATE_LIMIT_ENABLED", default=True)
# A payment still open this long is re-checked against Stripe by the reconciliation job.
PAYMENTS_STUCK_MINUTES = env.int("PAYMENTS_STUCK_MINUTES", default=15)

# --- Payments (Stripe through dj-stripe) -----------------------------------------------------------------

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
# Offline: an in-process fake Stripe and a local checkout page (orders.stripe_fake); refused without DEBUG
# by a system check (orders.checks). The embedded default when DEBUG is on and no key is configured.
STRIPE_OFFLINE = env.bool("STRIPE_OFFLINE", default=DEBUG and not STRIPE_SECRET_KEY)
if STRIPE_OFFLINE and not STRIPE_SECRET_KEY:
    # Well-formed test-mode keys Stripe never issued: dj-stripe checks the format; the fake answers.
    STRIPE_SECRET_KEY = "sk_test_" + "GrasshopperOfflineMode00000"  # nosec B105
    STRIPE_PUBLISHABLE_KEY = STRIPE_PUBLISHABLE_KEY or "pk_test_" + "GrasshopperOfflineMode00000"
STRIPE_LIVE_MODE = env.bool(
    "STRIPE_LIVE_MODE", default=STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
)
# dj-stripe reads the key of the mode it runs in.
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
# Pinned: a stripe-python upgrade must not change the API shapes under us (dj-stripe 2.11 targets this one).
STRIPE_API_VERSION = "2026-05-27.dahlia"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
STRIPE_WEBHOOK_ENDPOINT_ID = env.str("STRIPE_WEBHOOK_ENDPOINT_ID", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_WEBHOOK_UUID = env.str("STRIPE_WEBHOOK_UUID", default="")
# The webhook endpoint created in the Stripe dashboard (id we_..., signing secret whsec_..., and the
# UUID in its URL https://<host>/stripe/webhook/<uuid>/), upserted by stripe_webhook_endpoint_ensure.
# Days dj-stripe's WebhookEventTrigger rows (raw webhook requests) are kept before the hourly prune.
STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS = env.int("STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS", default=30)

# --- Membership ("Grasshopper Plus": a monthly Stripe subscription; loyalty/services_membership.py) --------

# The recurring Price created in the Stripe dashboard (price_...). Empty: Checkout is given the amount,
# currency and name below as price_data (offline mode, tests); the page shows them either way, so keep
# them equal to the Price's.
MEMBERSHIP_PRICE_ID = env.str("MEMBERSHIP_PRICE_ID", default="")
MEMBERSHIP_AMOUNT = env.str("MEMBERSHIP_AMOUNT", default="4.99")
MEMBERSHIP_CURRENCY = env.str("MEMBERSHIP_CURRENCY", default="EUR")
MEMBERSHIP_NAME = env.str("MEMBERSHIP_NAME", default="Grasshopper Plus")

# --- Waitlist (waitlist/services.py) ----------------------------------------------------------------------

# Minutes an offer of freed seats holds them for the person in line before it goes to the next.
WAITLIST_OFFER_MINUTES = env.int("WAITLIST_OFFER_MINUTES", default=30)
# Lapse expired offers and offer free or withheld seats to the line (correctness does not depend on it).
CELERY_BEAT_SCHEDULE["waitlist-sweep"] = {"task": "waitlist.sweep", "schedule": 60.0}

# --- Notifications ---------------------------------------------------------------------------------------

NOTIFICATIONS_EMAIL_MAX_ATTEMPTS = env.int("NOTIFICATIONS_EMAIL_MAX_ATTEMPTS", default=5)
NOTIFICATIONS_EMAIL_RETRY_BACKOFF = env.int("NOTIFICATIONS_EMAIL_RETRY_BACKOFF", default=30)
NOTIFICATIONS_EMAIL_RETRY_BACKOFF_MAX = env.int("NOTIFICATIONS_EMAIL_RETRY_BACKOFF_MAX", default=300)
NOTIFICATIONS_OUTBOX_STALE_SECONDS = env.int("NOTIFICATIONS_OUTBOX_STALE_SECONDS", default=600)
NOTIFICATIONS_EMAIL_QUEUE = env.str("NOTIFICATIONS_EMAIL_QUEUE", default="")
# A web process asks for the outbox relay at most once per this many seconds (notifications.services): new
# emails leave up to this much later, and an on-sale rush publishes one task a second, not one per order.
# 0: one send task per email at once, as tasks run eagerly anyway.
NOTIFICATIONS_RELAY_DELAY_SECONDS = env.float("NOTIFICATIONS_RELAY_DELAY_SECONDS", default=1.0)
NOTIFICATIONS_HOLD_WARNING_MINUTES = env.int("NOTIFICATIONS_HOLD_WARNING_MINUTES", default=5)
NOTIFICATIONS_REMINDER_HOURS = env.int("NOTIFICATIONS_REMINDER_HOURS", default=24)
# The outbox's safety net (a dead worker's or a lost task's messages), the "5 more minutes" warning of a
# hold, and the reminder before doors open: without these three, the last two are never sent.
CELERY_BEAT_SCHEDULE["notifications-outbox-requeue-stale"] = {
    "task": "notifications.outbox_requeue_stale",
    "schedule": 60.0,
}
# The relay once a minute as well: emails whose relay never came (lost on the way, or run early by a worker
# whose clock is ahead) leave within a minute, not after NOTIFICATIONS_OUTBOX_STALE_SECONDS.
CELERY_BEAT_SCHEDULE["notifications-outbox-relay"] = {
    "task": "notifications.outbox_relay",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["notifications-holds-warn-expiring"] = {
    "task": "notifications.holds_warn_expiring",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["notifications-reminders-send-due"] = {
    "task": "notifications.reminders_send_due",
    "schedule": 300.0,
}

# --- Loyalty (points ledger, tiers, redemption; loyalty/services.py) --------------------------------------

# Points earned per currency unit paid (the order's total after discounts), before multipliers.
LOYALTY_POINTS_PER_UNIT = env.int("LOYALTY_POINTS_PER_UNIT", default=10)
# Tiers from the points earned in the trailing 12 months: the lowest count for silver and gold.
LOYALTY_TIER_THRESHOLDS = env.dict(
    "LOYALTY_TIER_THRESHOLDS", cast={"value": int}, default={"silver": 2000, "gold": 6000}
)
# Earning multipliers per tier, and for active members (Grasshopper Plus); they multiply together.
LOYALTY_TIER_MULTIPLIERS = env.dict(
    "LOYALTY_TIER_MULTIPLIERS", cast={"value": float}, default={"bronze": 1.0, "silver": 1.25, "gold": 1.5}
)
LOYALTY_MEMBER_MULTIPLIER = env.float("LOYALTY_MEMBER_MULTIPLIER", default=1.5)
# Redemption at checkout: what one point is worth (in the order's currency), and the largest share of an
# order's total that points may pay.
LOYALTY_POINT_VALUE = env.str("LOYALTY_POINT_VALUE", default="0.01")
LOYALTY_REDEEM_MAX_SHARE = env.str("LOYALTY_REDEEM_MAX_SHARE", default="0.5")
# Earned points expire this many months after they were earned (a daily beat job); the account page and
# a notification warn LOYALTY_EXPIRY_WARNING_DAYS ahead.
LOYALTY_POINTS_EXPIRE_MONTHS = env.int("LOYALTY_POINTS_EXPIRE_MONTHS", default=12)
LOYALTY_EXPIRY_WARNING_DAYS = env.int("LOYALTY_EXPIRY_WARNING_DAYS", default=30)
CELERY_BEAT_SCHEDULE["loyalty-points-expire-due"] = {"task": "loyalty.points_expire_due", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["loyalty-points-expiry-warn-due"] = {
    "task": "loyalty.points_expiry_warn_due",
    "schedule": 3600.0,
}

# --- Referrals (loyalty/services_referrals.py) -------------------------------------------------------------

# A referral link (/r/<code>/) is remembered in a signed cookie this many days, until the visitor signs up.
REFERRAL_LINK_DAYS = env.int("REFERRAL_LINK_DAYS", default=30)
# When the new user's first paid order is paid: the referrer gets REFERRAL_REFERRER_POINTS; the new user
# gets REFERRAL_REFEREE_POINTS ("points") or, with "discount", REFERRAL_REFEREE_DISCOUNT off that first order
# at checkout (at most half of it; in the order's currency) and no points.
REFERRAL_REFERRER_POINTS = env.int("REFERRAL_REFERRER_POINTS", default=500)
REFERRAL_REFEREE_REWARD = env.str("REFERRAL_REFEREE_REWARD", default="points")
REFERRAL_REFEREE_POINTS = env.int("REFERRAL_REFEREE_POINTS", default=250)
REFERRAL_REFEREE_DISCOUNT = env.str("REFERRAL_REFEREE_DISCOUNT", default="5.00")
# Abuse limit: rewarded referrals per referrer in any 30 days; more are refused (logged on `security`).
REFERRAL_REWARDS_PER_MONTH = env.int("REFERRAL_REWARDS_PER_MONTH", default=10)
# A first order paid through Stripe waits for its charge (card fingerprint, billing address) this long;
# then the job below decides without them.
REFERRAL_CHARGE_WAIT_MINUTES = env.int("REFERRAL_CHARGE_WAIT_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["loyalty-referrals-settle-waiting"] = {
    "task": "loyalty.referrals_settle_waiting",
    "schedule": 900.0,
}
