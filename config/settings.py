"""Utilis settings. Every value comes from the environment; `.env.example` lists them all."""
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str, env_zone

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("UTILIS_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("UTILIS_DEBUG", False)
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
    "rest_framework.authtoken",
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change (and from which URL) in the audit trail.
    "pghistory.middleware.HistoryMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# The utility's own local time zone: local days, TOU periods, holidays and bill dates use it.
UTILIS_LOCAL_TIME_ZONE = env_zone("UTILIS_LOCAL_TIME_ZONE", "America/Toronto")
UTILIS_UTILITY_NAME = env_str("UTILIS_UTILITY_NAME", "Utilis Demo Utility")
# Zone of read-file timestamps that carry no offset (CMEP's always): what the head-end sends.
UTILIS_READ_FILE_TIME_ZONE = env_zone("UTILIS_READ_FILE_TIME_ZONE", "UTC")
UTILIS_HOLIDAY_COUNTRY = env_str("UTILIS_HOLIDAY_COUNTRY", "CA")
UTILIS_HOLIDAY_SUBDIVISION = env_str("UTILIS_HOLIDAY_SUBDIVISION", "ON")

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
CELERY_TIMEZONE = UTILIS_LOCAL_TIME_ZONE
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
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
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
SPECTACULAR_SETTINGS = {
    "TITLE": "Utilis API",
    "DESCRIPTION": "Customer Information and Meter Data Management for utilities.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets ship in drf-spectacular-sidecar: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("UTILIS_LOG_LEVEL", "INFO")},
}
