"""Utilis settings. Every value comes from the environment; `.env.example` lists them all."""
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_decimal, env_int, env_list, env_str, env_zone

BASE_DIR = Path(__file__).resolve().parent.parent

# DEBUG is off unless asked for (`bin/utilis start --dev` or UTILIS_DEBUG=true): tracebacks,
# settings and URL lists never reach a browser.
DEBUG = env_bool("UTILIS_DEBUG", False)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
# Keys that are public (this file, .env.example, docker-compose.yml): never good with DEBUG off.
INSECURE_SECRET_KEYS = frozenset({DEV_SECRET_KEY, "change-me", "change-me-in-production", ""})
SECRET_KEY = env_str("UTILIS_SECRET_KEY", DEV_SECRET_KEY)
# The test suite (pytest sets PYTEST_VERSION, inherited by the workers it starts) and the type
# checker (django-stubs loads these settings) run with DEBUG off and need no real key.
_KEY_NOT_NEEDED = bool(os.environ.get("PYTEST_VERSION")) or "mypy" in sys.modules
if not DEBUG and SECRET_KEY in INSECURE_SECRET_KEYS and not _KEY_NOT_NEEDED:
    raise ImproperlyConfigured(
        "UTILIS_SECRET_KEY is missing or is a published example value, and DEBUG is off. "
        "Set UTILIS_SECRET_KEY to a long random secret, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` "
        "(bin/utilis start keeps one in .local/secret_key), or set UTILIS_DEBUG=true on a "
        "development machine."
    )
# The card gateway (docs/payments.md "Card payments", docs/operations.md): the adapter's name, its
# URL, and the secret its webhooks are signed with (HMAC-SHA256). The default secret is public.
UTILIS_PAYMENT_GATEWAY = env_str("UTILIS_PAYMENT_GATEWAY", "sandbox")
UTILIS_GATEWAY_URL = env_str("UTILIS_GATEWAY_URL", "http://127.0.0.1:8765")
DEV_GATEWAY_WEBHOOK_SECRET = "dev-only-gateway-webhook-secret"
UTILIS_GATEWAY_WEBHOOK_SECRET = env_str("UTILIS_GATEWAY_WEBHOOK_SECRET", DEV_GATEWAY_WEBHOOK_SECRET)
UTILIS_GATEWAY_WEBHOOK_TOLERANCE_SECONDS = env_int("UTILIS_GATEWAY_WEBHOOK_TOLERANCE_SECONDS", 300)
if not DEBUG and UTILIS_GATEWAY_WEBHOOK_SECRET in INSECURE_SECRET_KEYS | {DEV_GATEWAY_WEBHOOK_SECRET} \
        and not _KEY_NOT_NEEDED:
    raise ImproperlyConfigured(
        "UTILIS_GATEWAY_WEBHOOK_SECRET is missing or is the published development value, and DEBUG is off. "
        "Set it to the webhook signing secret your card gateway shows (for the sandbox gateway, the "
        "--secret it is started with), or set UTILIS_DEBUG=true on a development machine."
    )
ALLOWED_HOSTS = env_list("UTILIS_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("UTILIS_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # pghistory.admin first so its templates (the "Events" buttons) win over the stock admin.
    "pghistory.admin",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "core",
    "cis",
    "mdm",
    "billing",
    "service_orders",
    "inventory",
    "portal",
    "integrations",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.http.RejectNulBytesMiddleware",  # 400 for a NUL in path, query or body (PostgreSQL refuses NUL)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # English or French on /portal/ pages (the switch, the customer's language on file, the browser).
    "portal.language.PortalLanguageMiddleware",
    # request.user.is_verified(): signed in with a second factor (core.two_factor).
    "django_otp.middleware.OTPMiddleware",
    "core.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Records who made each change (and from which URL) in the audit trail.
    "pghistory.middleware.HistoryMiddleware",
    # Last: turns a locked-out sign-in into the lockout page / JSON (core.auth.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# The audit events admin (/admin/pghistory/events/): pages found cheaply, no full count.
PGHISTORY_ADMIN_CLASS = "core.admin.AuditEventsAdmin"

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
                "core.context_processors.utility",
                "core.context_processors.background",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis"),
        conn_max_age=env_int("UTILIS_DB_CONN_MAX_AGE", 60),
    )
}
# Two database roles (docs/operations.md, Database roles): DATABASE_URL is the app role, which
# owns no table; migrations and the grants (core.db_roles) run as the owner role of this URL.
# Empty: a single-role setup, as before (a warning at start-up with DEBUG off).
DATABASE_OWNER_URL = env_str("UTILIS_DATABASE_OWNER_URL", "")
# The app role's name when `migrate` runs with DATABASE_URL set to the owner's URL; empty: the
# user of DATABASE_URL.
DATABASE_APP_ROLE = env_str("UTILIS_DATABASE_APP_ROLE", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords set through forms (admin, password change) follow these rules. The demo seed sets
# its short demo passwords directly (set_password does not validate); real users get the rules.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("UTILIS_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes watches every sign-in first (hub, admin, API token): it refuses a locked-out
# username from this address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "core.auth.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("UTILIS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("UTILIS_LOGIN_COOLOFF_MINUTES", 30))
# One username from one address: a guesser cannot lock a person out from everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "core.auth.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# Staff two-factor (TOTP, django-otp): these roles must enrol a device before any hub page.
UTILIS_REQUIRE_2FA_ROLES = env_list("UTILIS_REQUIRE_2FA_ROLES", [])
OTP_TOTP_ISSUER = env_str("UTILIS_UTILITY_NAME", "Utilis Demo Utility")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
USE_I18N = True
# The customer portal speaks English and French (portal.language picks one per portal request;
# the staff hubs stay English). Its catalogue is portal/locale (docs/portal.md says how to update it).
LANGUAGES = [("en", "English"), ("fr", "Français")]
USE_TZ = True
TIME_ZONE = "UTC"
# The utility's own local time zone: local days, TOU periods, holidays and bill dates use it.
UTILIS_LOCAL_TIME_ZONE = env_zone("UTILIS_LOCAL_TIME_ZONE", "America/Toronto")
UTILIS_UTILITY_NAME = env_str("UTILIS_UTILITY_NAME", "Utilis Demo Utility")
# Zone of read-file timestamps that carry no offset (CMEP's always): what the head-end sends.
UTILIS_READ_FILE_TIME_ZONE = env_zone("UTILIS_READ_FILE_TIME_ZONE", "UTC")
# Read imports (docs/import-formats.md, "What is quarantined"): timestamps outside
# [now - MAX_PAST_DAYS, now + MAX_FUTURE_HOURS] and values above the unit's maximum are
# quarantined per record; uploads above MAX_UPLOAD_BYTES are refused.
UTILIS_IMPORT_MAX_PAST_DAYS = env_int("UTILIS_IMPORT_MAX_PAST_DAYS", 3653)
UTILIS_IMPORT_MAX_FUTURE_HOURS = env_int("UTILIS_IMPORT_MAX_FUTURE_HOURS", 48)
UTILIS_IMPORT_MAX_VALUES = {
    "kWh": 1e10, "kVARh": 1e10, "kW": 1e7, "kVA": 1e7, "kVAR": 1e7, "m3": 1e10, "USgal": 1e11, "ft3": 1e11,
    **{unit.strip(): float(limit) for unit, _, limit in
       (item.partition("=") for item in env_list("UTILIS_IMPORT_MAX_VALUES", [])) if limit},
}
UTILIS_IMPORT_MAX_UPLOAD_BYTES = env_int("UTILIS_IMPORT_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
UTILIS_HOLIDAY_COUNTRY = env_str("UTILIS_HOLIDAY_COUNTRY", "CA")
UTILIS_HOLIDAY_SUBDIVISION = env_str("UTILIS_HOLIDAY_SUBDIVISION", "ON")
# The bill cycle a new account gets when none is chosen; empty: the cycle of the service point's
# read route (the one most accounts there are billed in), else the API and move-in wizard ask.
UTILIS_DEFAULT_BILL_CYCLE = env_str("UTILIS_DEFAULT_BILL_CYCLE", "")
# Maker-checker: a credit adjustment larger than this (in the utility's currency) does not post
# when asked; it waits in the Billing Hub for a second person (billing or administrator) to approve.
UTILIS_ADJUSTMENT_APPROVAL_LIMIT = env_decimal("UTILIS_ADJUSTMENT_APPROVAL_LIMIT", "250.00")

# HTTPS (a setting, on in production): HSTS, redirect to https, Secure cookies.
UTILIS_HTTPS = env_bool("UTILIS_HTTPS", False)
SECURE_SSL_REDIRECT = UTILIS_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("UTILIS_HSTS_SECONDS", 31536000) if UTILIS_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("UTILIS_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("UTILIS_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = UTILIS_HTTPS
CSRF_COOKIE_SECURE = UTILIS_HTTPS
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: forms carry the token.
CSRF_COOKIE_HTTPONLY = True
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto / X-Forwarded-For.
if env_bool("UTILIS_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_IPWARE_PROXY_COUNT = env_int("UTILIS_PROXY_COUNT", 1)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# Content-Security-Policy (django-csp): scripts only from our own static files, no inline
# script or handler. Styles: files only, except style="" attributes, which the hubs use for
# data-driven colours (TOU grids, legends); style attributes cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Outgoing mail (portal registration links, password resets): Django's SMTP backend by default;
# UTILIS_EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend prints mail instead.
EMAIL_BACKEND = env_str("UTILIS_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
# With django.core.mail.backends.filebased.EmailBackend (what `bin/utilis start` uses for the demo
# when no mail server is configured): one .log file per message in this folder.
EMAIL_FILE_PATH = env_str("UTILIS_EMAIL_FILE_PATH", str(BASE_DIR / ".local" / "mail"))
EMAIL_HOST = env_str("UTILIS_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("UTILIS_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("UTILIS_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("UTILIS_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("UTILIS_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("UTILIS_EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = env_str("UTILIS_DEFAULT_FROM_EMAIL", "no-reply@localhost")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("UTILIS_MEDIA_ROOT", str(BASE_DIR / ".local" / "media")))
MEDIA_URL = "media/"
# Served by the app itself: the machines this runs on have no CDN.
WHITENOISE_USE_FINDERS = True

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("UTILIS_CELERY_EAGER", False)
# Queue a VEE run over what each finished import loaded (benchmarks that run VEE themselves
# turn it off).
UTILIS_VEE_AFTER_IMPORT = env_bool("UTILIS_VEE_AFTER_IMPORT", True)
# Turn MDM's replacement-read notices into cancel/rebills on the hourly beat task
# (billing.tasks.rebill_replacement_read_notices). Off: billing staff decide each notice in the
# Billing Hub's Replacement reads page.
UTILIS_AUTO_REBILL_NOTICES = env_bool("UTILIS_AUTO_REBILL_NOTICES", False)
# A running batch run (import, VEE, bill run) whose chunks made no progress for this long is
# taken for one whose worker died, and its chunks not done are queued again.
UTILIS_RUN_STALE_MINUTES = env_int("UTILIS_RUN_STALE_MINUTES", 15)
# The sweeper resumes one run at most this many times in a row (no chunk finishing between);
# the next time it finds the run stale it marks it failed with the reason, for a person to look at.
UTILIS_RUN_SWEEP_RESUMES = env_int("UTILIS_RUN_SWEEP_RESUMES", 3)
CELERY_TIMEZONE = UTILIS_LOCAL_TIME_ZONE
# Queues (config/celery.py): a person's work goes to "interactive" (route_for_a_person), the rest
# by kind. Every task is named here; a task not named goes to the interactive queue.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_CREATE_MISSING_QUEUES = True
CELERY_TASK_ROUTES = [
    "config.celery.route_for_a_person",
    {
        "mdm.tasks.import_file_task": {"queue": "imports"},
        "mdm.tasks.import_chunk": {"queue": "imports"},
        "mdm.tasks.vee_after_import_task": {"queue": "vee"},
        "mdm.tasks.vee_run_task": {"queue": "vee"},
        "mdm.tasks.vee_run_chunk": {"queue": "vee"},
        # One set-based statement over the interval store's last days (the portal's similar premises).
        "mdm.tasks.usage_class_days_refresh_task": {"queue": "vee"},
        "billing.tasks.bill_run_chunk": {"queue": "billing"},
        "billing.tasks.bill_run_approve_chunk": {"queue": "billing"},
        "billing.tasks.bill_run_issue_chunk": {"queue": "billing"},
        "billing.tasks.bill_documents_render": {"queue": "billing"},
        "billing.tasks.rebill_replacement_read_notices": {"queue": "billing"},
        "billing.tasks.collections_run_daily": {"queue": "billing"},
        "billing.tasks.collections_run_chunk": {"queue": "billing"},
        "billing.collections.letters.notice_letters_render": {"queue": "billing"},
        "billing.collections.letters.notice_letters_print": {"queue": "billing"},
        "billing.tasks.deposit_review_daily": {"queue": "billing"},
        "billing.tasks.deposit_review_chunk": {"queue": "billing"},
        "billing.payments.autopay_tasks.autopay_debit_file_daily": {"queue": "billing"},
        "billing.payments.card_tasks.card_charges_poll_due": {"queue": "billing"},
        # Short housekeeping that must not wait behind batch work.
        "cis.tasks.moves_apply_due": {"queue": "interactive"},
        "core.runs.sweep": {"queue": "interactive"},
        # portal alerts: the scan only lists links; the chunks (queries and SMTP) are batch work.
        "portal.tasks.alerts_scan": {"queue": "interactive"},
        "portal.tasks.alerts_send_chunk": {"queue": "billing"},
        # A remittance file a person uploaded in the Billing Hub (its page polls the import).
        "billing.payments.remittance_uploads.remittance_upload_import": {"queue": "interactive"},
    },
]
CELERY_BEAT_SCHEDULE = {
    "cis-apply-due-moves": {
        "task": "cis.tasks.moves_apply_due",
        "schedule": 15 * 60.0,
    },
    # core.runs: resume imports, VEE runs and bill runs whose worker died (no chunk finished
    # for UTILIS_RUN_STALE_MINUTES).
    "core-runs-sweep": {
        "task": "core.runs.sweep",
        "schedule": 5 * 60.0,
        "kwargs": {"stale_minutes": UTILIS_RUN_STALE_MINUTES},
    },
    # Does nothing unless UTILIS_AUTO_REBILL_NOTICES is true.
    "billing-rebill-replacement-read-notices": {
        "task": "billing.tasks.rebill_replacement_read_notices",
        "schedule": 60 * 60.0,
    },
    # billing.collections: the daily collections run, early morning in the utility's zone
    # (CELERY_TIMEZONE); a second start on the same date returns the run already started.
    "billing-collections-run-daily": {
        "task": "billing.tasks.collections_run_daily",
        "schedule": crontab(hour=6, minute=0),
    },
    # billing.deposits: the daily deposit review (recommends require / refund / apply, holds
    # what was paid, credits interest due) after the collections run; once per date.
    "billing-deposit-review-daily": {
        "task": "billing.tasks.deposit_review_daily",
        "schedule": crontab(hour=6, minute=30),
    },
}

# Autopay (billing/payments/autopay.py, docs/payments.md "Autopay"). Bank details of autopay
# enrolments are encrypted at rest with this Fernet key (32 url-safe base64 bytes); `bin/utilis
# start` is to keep a generated one in .local/field_encryption_key. The dev key below is public:
# with DEBUG off (outside the test suite and the type checker) autopay refuses to encrypt or
# read bank details with it (ImproperlyConfigured, billing.payments.autopay.field_cipher).
# Changing the key makes stored bank details unreadable: rotate it only with a re-encryption.
DEV_FIELD_ENCRYPTION_KEY = "AAweAqHyYcSYyS-paiw_6ejPSUXPOfaQcJP3lM8EYq4="
UTILIS_FIELD_ENCRYPTION_KEY = env_str("UTILIS_FIELD_ENCRYPTION_KEY", "") or DEV_FIELD_ENCRYPTION_KEY
UTILIS_FIELD_ENCRYPTION_KEY_REQUIRED = not DEBUG and not _KEY_NOT_NEEDED
# The NACHA/ACH debit file's originator: the utility's bank (ODFI) and the utility itself.
UTILIS_ACH_IMMEDIATE_DESTINATION = env_str("UTILIS_ACH_IMMEDIATE_DESTINATION", "021000021")  # the ODFI's routing number
UTILIS_ACH_IMMEDIATE_DESTINATION_NAME = env_str("UTILIS_ACH_IMMEDIATE_DESTINATION_NAME", "DEMO BANK")
UTILIS_ACH_IMMEDIATE_ORIGIN = env_str("UTILIS_ACH_IMMEDIATE_ORIGIN", "1234567890")  # 10 characters, as the bank assigns
UTILIS_ACH_IMMEDIATE_ORIGIN_NAME = env_str("UTILIS_ACH_IMMEDIATE_ORIGIN_NAME", UTILIS_UTILITY_NAME)
UTILIS_ACH_COMPANY_ID = env_str("UTILIS_ACH_COMPANY_ID", "1234567890")  # 10 characters
UTILIS_ACH_COMPANY_NAME = env_str("UTILIS_ACH_COMPANY_NAME", UTILIS_UTILITY_NAME)
UTILIS_ACH_ENTRY_DESCRIPTION = env_str("UTILIS_ACH_ENTRY_DESCRIPTION", "UTILITY")
# The daily beat task writes the file for bills due this many days ahead (banks want a PPD file
# one or two banking days before its effective entry date) into UTILIS_AUTOPAY_OUTBOX.
UTILIS_AUTOPAY_LEAD_DAYS = env_int("UTILIS_AUTOPAY_LEAD_DAYS", 2)
UTILIS_AUTOPAY_OUTBOX = Path(env_str("UTILIS_AUTOPAY_OUTBOX", str(BASE_DIR / ".local" / "autopay")))
# mdm.services.usage_class_days_refresh: each rate class's usage per day over the last week, for
# the portal's similar-premises comparison (docs/portal.md "Usage compared"); after the night's reads.
CELERY_BEAT_SCHEDULE["mdm-usage-class-days-refresh"] = {"task": "mdm.tasks.usage_class_days_refresh_task",
                                                        "schedule": crontab(hour=5, minute=0)}
# The portal's alerts (docs/portal.md "Alerts"): each at most once per event, however often this runs.
CELERY_BEAT_SCHEDULE["portal-alerts-scan"] = {"task": "portal.tasks.alerts_scan", "schedule": 30 * 60.0}
CELERY_BEAT_SCHEDULE["billing-autopay-debit-file"] = {
    "task": "billing.payments.autopay_tasks.autopay_debit_file_daily",
    "schedule": crontab(hour=6, minute=0),  # daily at 06:00 in CELERY_TIMEZONE (the utility's)
}

# Card charges still pending this many minutes after they were made (no webhook came) are
# asked about at the gateway every 5 minutes (billing/payments/card_tasks.py).
UTILIS_CARD_POLL_AFTER_MINUTES = env_int("UTILIS_CARD_POLL_AFTER_MINUTES", 10)
CELERY_BEAT_SCHEDULE["billing-card-charges-poll"] = {
    "task": "billing.payments.card_tasks.card_charges_poll_due",
    "schedule": 5 * 60.0,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # django-rest-knox: tokens are stored hashed, expire, and are revoked one by one.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens: `POST /api/auth/token/` hands out a new named token per call (core.ApiToken).
KNOX_TOKEN_MODEL = "core.ApiToken"
# knox's own migrations create its (swapped-out) knox_authtoken table regardless; without them
# no such table exists to hold a foreign key to auth_user that a test flush could not truncate.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("UTILIS_API_TOKEN_TTL_DAYS", 30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Utilis API",
    "DESCRIPTION": "Customer Information and Meter Data Management for utilities.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Choice sets two components share (a meter's kind and a channel's unit on provisioning and
    # on reading, a bill's kind and status in a list and in detail): one named enum each, not a
    # hash-suffixed name.
    "ENUM_NAME_OVERRIDES": {"MeterKindEnum": "mdm.models.Meter.Kind", "ChannelUnitEnum": "mdm.models.Channel.Unit",
                            "BillStatusEnum": "billing.models.Bill.Status", "BillKindEnum": "billing.models.Bill.Kind",
                            "PaymentChannelEnum": "billing.payments.models.Payment.Channel"},
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets ship in drf-spectacular-sidecar: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_without_traceback": {"()": "core.logging.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["forbidden_without_traceback"]}},
    "root": {"handlers": ["console"], "level": env_str("UTILIS_LOG_LEVEL", "INFO")},
}
