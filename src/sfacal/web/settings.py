"""Django settings, read from the environment (see ``sfacal.config``).

Deliberately short: everything with a default lives in ``sfacal.config``; this
module only wires Django.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from sfacal import config
from sfacal.directory import crypto

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()

DEBUG = config.env_flag("SFACAL_DEBUG")
SECRET_KEY = os.environ.get("SFACAL_DJANGO_SECRET_KEY") or crypto.derived_secret("django-secret-key")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("SFACAL_ALLOWED_HOSTS", "*").split(",") if h.strip()]

# HTTPS and the reverse proxy (docs/security.md): all from SFACAL_PUBLIC_URL and SFACAL_BEHIND_PROXY.
WEB_SECURITY = config.web_security()
PUBLIC_URL = WEB_SECURITY.public_url
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("SFACAL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
] + ([WEB_SECURITY.public_origin] if WEB_SECURITY.public_origin else [])
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = WEB_SECURITY.https
SECURE_HSTS_SECONDS = WEB_SECURITY.hsts_seconds
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if WEB_SECURITY.behind_proxy else None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "huey.contrib.djhuey",
    "sfacal.directory.companies",
    "sfacal.directory.employees",
    "sfacal.directory.connections",
    "sfacal.engine",
    "sfacal.web.ops",
    "sfacal.web",
    "sfacal.web.accounts",
    "axes",
    "sfacal.web.dashboard",
    "sfacal.web.logs",
]

MIDDLEWARE = [
    "sfacal.web.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sfacal.web.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sfacal.web.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "sfacal.web.urls"
WSGI_APPLICATION = "sfacal.web.wsgi.application"
ASGI_APPLICATION = "sfacal.web.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": config.database_config().as_django()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in throttling (django-axes; sfacal.web.accounts.throttle): failures are counted per client
# address and per user name alike, known or not; the limit reached by either pauses sign-in for the
# cool-off, which failures during the pause do not extend. `sfacal unlock` lifts a pause.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # a success forgets only its own name's failures from its own address
AXES_CLIENT_IP_CALLABLE = "sfacal.web.accounts.throttle.client_address"
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username"]  # a mistyped name may be a password: never logged
AXES_ENABLE_ADMIN = False
# The sign-in view answers a paused sign-in itself (one page, one status for every name).
SILENCED_SYSTEM_CHECKS = ["axes.W002"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Tokyo"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# E-mail notices to company administrators (sfacal.engine.notices): off until SFACAL_SMTP_HOST is set.
SMTP = config.smtp_config()
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = SMTP.host or "localhost"
EMAIL_PORT = SMTP.port
EMAIL_HOST_USER = SMTP.user
EMAIL_HOST_PASSWORD = SMTP.password
EMAIL_USE_TLS = SMTP.starttls
EMAIL_USE_SSL = SMTP.ssl
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = SMTP.sender
SERVER_EMAIL = SMTP.sender

HUEY = config.queue_config(immediate=config.env_flag("SFACAL_QUEUE_IMMEDIATE"))

# Every line goes through one handler whose filters redact secrets, keep expected refusals to one
# line and add the request and job ids (sfacal.web.logfilters). Chatty libraries speak from WARNING up unless SFACAL_LOG_LEVEL=DEBUG.
LOG_LEVEL = os.environ.get("SFACAL_LOG_LEVEL", "INFO").strip().upper() or "INFO"
_CHATTY = "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"
# SFACAL_LOG_FORMAT=json: one JSON object per line, with request_id and job_id (docs/operations.md).
LOG_FORMAT = "json" if os.environ.get("SFACAL_LOG_FORMAT", "").strip().lower() == "json" else "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "refusals": {"()": "sfacal.web.logfilters.ExpectedRefusalFilter"},
        "redact": {"()": "sfacal.web.logfilters.RedactSecretsFilter"},
        "context": {"()": "sfacal.web.logfilters.LogContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "sfacal.web.logfilters.JsonLogFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["refusals", "redact", "context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # with a handler of its own, `sfacal worker` (Huey's run_huey) adds no unfiltered one
        "huey": {"level": _CHATTY, "handlers": ["console"], "propagate": False},
        "httpx": {"level": _CHATTY},
        "httpcore": {"level": _CHATTY},
        "django.server": {"level": _CHATTY},
        "uvicorn": {"level": _CHATTY},
        "axes": {"level": _CHATTY},
        # SQL statements carry webhook tokens and session keys as parameters: never logged.
        "django.db.backends": {"level": "INFO"},
    },
}
