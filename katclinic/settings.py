"""KAT Clinic settings: one file, read from the environment, failing closed in production.

`make run` sets KATCLINIC_DEV=1, which turns on DEBUG and the demo; everything else
(gunicorn, the test suite) runs with production defaults unless told otherwise.
"""

import os
import sys
import tempfile
from pathlib import Path

import dj_database_url
from dj_database_url import DBConfig
from django.utils.csp import CSP

from katclinic.accounts.relying_party import RelyingPartyError, default_origins, default_rp_id
from katclinic.accounts.relying_party import check as check_relying_party
from katclinic.lib.env import ConfigError, envbool, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or envbool("KATCLINIC_TESTING")
DEV = envbool("KATCLINIC_DEV")
DEBUG = envbool("DEBUG", default=DEV)
DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "var")))

# The demo shows one-time codes for demo accounts on the sign-in page; never in production.
DEMO_MODE = envbool("KATCLINIC_DEMO", default=DEV)
if DEMO_MODE and not (DEBUG or TESTING):
    raise ConfigError(
        "KATCLINIC_DEMO is refused with DEBUG off: demo sign-in hints are for local use"
    )

# Commands that only read the code (never serve, sign, or write records) may run without
# production secrets, so a developer can check migrations on a fresh checkout.
CODE_ONLY_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}
CODE_ONLY = (
    Path(sys.argv[0]).name == "manage.py"
    and len(sys.argv) > 1
    and sys.argv[1] in CODE_ONLY_COMMANDS
)

SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING or CODE_ONLY:
        SECRET_KEY = "insecure-development-key-not-for-production-use-0123456789"  # noqa: S105
    else:
        raise ConfigError("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS")
# Addresses from which the first-run page (/setup/) may be used while no organization exists.
# Empty means only `manage.py setup_clinic` can set the install up.
KATCLINIC_SETUP_FROM = envlist("KATCLINIC_SETUP_FROM")
if not ALLOWED_HOSTS:
    if DEBUG or TESTING or CODE_ONLY:
        ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    else:
        raise ConfigError("ALLOWED_HOSTS must list this server's host names when DEBUG is off")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = envstr("SITE_URL", f"http://127.0.0.1:{envstr('PORT', '8000')}")

INSTALLED_APPS = [
    # First, so that its createsuperuser (which points at setup_clinic) replaces Django's.
    "katclinic.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "katclinic.core",
    "katclinic.clinics",
    "katclinic.audit",
    "katclinic.patients",
    "katclinic.intake",
    "katclinic.measures",
    "katclinic.protocols",
    "katclinic.scheduling",
    "katclinic.dosing",
    "katclinic.outcomes",
    "katclinic.portal",
    "katclinic.athome",
    "katclinic.surveillance",
    "katclinic.billing",
    "katclinic.visitnotes",
    "katclinic.api",
    "katclinic.fhir",
    "katclinic.smart",
    "katclinic.bulk",
    "katclinic.insurance",
    "katclinic.messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "katclinic.core.observability.RequestLogMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "katclinic.smart.middleware.CorsMiddleware",
    "katclinic.api.middleware.ApiBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "katclinic.clinics.first_run.FirstRunMiddleware",
    "katclinic.accounts.middleware.SessionSecurityMiddleware",
    "katclinic.clinics.middleware.ActiveClinicMiddleware",
    # After the clinic: a signed-in patient's pages are in the language on their record.
    "katclinic.core.language.LanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "katclinic.core.middleware.NoStoreMiddleware",
    # Before the parameter middleware, so that a bad parameter is a 400, not an error page.
    "katclinic.core.middleware.ClinicErrorPagesMiddleware",
    "katclinic.core.middleware.BadParameterMiddleware",
]
# With DEBUG on, Django's technical error pages instead of the clinic's (developers only).
KATCLINIC_TECHNICAL_ERRORS = envbool("KATCLINIC_TECHNICAL_ERRORS")

if not (DEBUG or TESTING):
    # Production serves collected static files from gunicorn (run `manage.py collectstatic`).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "katclinic.urls"
WSGI_APPLICATION = "katclinic.wsgi.application"
ASGI_APPLICATION = "katclinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "katclinic" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "katclinic.clinics.context_processors.clinic",
            ],
        },
    }
]
# Django's form markup written in Python (the same characters, a fraction of the CPU).
FORM_RENDERER = "katclinic.lib.formrender.FastRenderer"


def _database() -> DBConfig:
    url = envstr("DATABASE_URL")
    if url:
        return dj_database_url.parse(
            url,
            conn_max_age=None,
            conn_health_checks=True,
            test_options={"NAME": envstr("TEST_DATABASE_NAME") or None},
        )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": envstr("SQLITE_PATH", str(DATA_DIR / "katclinic.sqlite3")),
        # Persistent connections: opening SQLite and running the PRAGMAs per request
        # costs about 4x in throughput (see the project's quality checks).
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
            # busy_timeout instead of one failing mid-transaction with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # busy_timeout must be set before journal_mode=WAL, or a writer that meets
            # a lock while switching to WAL fails at once.
            "init_command": (
                "PRAGMA busy_timeout=20000;"
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                # Without it, INSERT OR REPLACE deletes the old row without firing its
                # delete trigger, which would let an append-only row be rewritten.
                "PRAGMA recursive_triggers=ON;"
            ),
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["katclinic.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING and not envbool("KATCLINIC_TEST_REAL_HASHER"):
    # Argon2 is deliberately slow; the suite checks Argon2 itself in one test.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "katclinic.accounts.validators.MaximumLengthValidator"},
]

# Sessions live in the database so that every app server behind a load balancer
# shares them and logout or deactivation ends them everywhere.
SESSION_ENGINE = "katclinic.accounts.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
STAFF_IDLE_TIMEOUT_MINUTES = envint("STAFF_IDLE_TIMEOUT_MINUTES", 15)  # HIPAA automatic logoff
PATIENT_IDLE_TIMEOUT_MINUTES = envint("PATIENT_IDLE_TIMEOUT_MINUTES", 30)
SESSION_ABSOLUTE_HOURS = envint("SESSION_ABSOLUTE_HOURS", 12)
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_IP_LIMIT = envint("LOGIN_FAILURE_IP_LIMIT", 30)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15)
# Wrong second-factor codes are counted on their own (a correct password does not clear
# them): five per account or twenty per address within LOGIN_LOCKOUT_MINUTES lock sign-in.
SECOND_FACTOR_FAILURE_LIMIT = envint("SECOND_FACTOR_FAILURE_LIMIT", 5)
SECOND_FACTOR_FAILURE_IP_LIMIT = envint("SECOND_FACTOR_FAILURE_IP_LIMIT", 20)
# How long an emailed staff invitation can be accepted.
STAFF_INVITATION_HOURS = envint("STAFF_INVITATION_HOURS", 72)

# Passkeys (WebAuthn) for staff: the relying party id is a host name (by default the first
# name in ALLOWED_HOSTS), and answers are accepted only from these origins. See deploy/README.
WEBAUTHN_RP_ID = envstr("KATCLINIC_WEBAUTHN_RP_ID").strip().lower() or default_rp_id(ALLOWED_HOSTS)
WEBAUTHN_ORIGINS = envlist("KATCLINIC_WEBAUTHN_ORIGIN") or default_origins(
    WEBAUTHN_RP_ID, local=DEBUG or TESTING, port=envstr("PORT", "8000")
)
try:
    check_relying_party(WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)
except RelyingPartyError as exc:
    raise ConfigError(f"KATCLINIC_WEBAUTHN_RP_ID / KATCLINIC_WEBAUTHN_ORIGIN: {exc}") from None
WEBAUTHN_RP_NAME = envstr("KATCLINIC_WEBAUTHN_RP_NAME", "KAT Clinic")
# A passkey challenge is used once and lapses after this long (the Web Authentication
# recommendation for a ceremony that asks for user verification is 300 to 600 seconds).
WEBAUTHN_CHALLENGE_SECONDS = envint("KATCLINIC_WEBAUTHN_CHALLENGE_SECONDS", 300)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = not (DEBUG or TESTING)
CSRF_COOKIE_SECURE = not (DEBUG or TESTING)
# Over HTTPS the cookies carry the __Host- prefix: the browser then accepts them only if
# Secure, for path /, and from this host alone (no subdomain can set or overwrite them).
SECURE_COOKIE_PREFIX = "__Host-"
SESSION_COOKIE_NAME = (SECURE_COOKIE_PREFIX if SESSION_COOKIE_SECURE else "") + "sessionid"
CSRF_COOKIE_NAME = (SECURE_COOKIE_PREFIX if CSRF_COOKIE_SECURE else "") + "csrftoken"
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SILENCED_SYSTEM_CHECKS: list[str] = []

# Patients and the public read their pages in one of these languages (the patient's choice
# is kept on their record); staff pages are in LANGUAGE_CODE. Another language is added with
# a translation file under locale/ and a line here.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Short dates per language (katclinic/formats/<code>/formats.py); the rest are Django's.
FORMAT_MODULE_PATH = ["katclinic.formats"]
LANGUAGE_COOKIE_NAME = "katclinic_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not (DEBUG or TESTING)
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "katclinic" / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "files"},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

_MAIL_BACKEND = envstr(
    "MAIL_BACKEND",
    # Local runs write each email to a file under DATA_DIR/outbox, so the terminal keeps the
    # server's own messages and the demo sign-ins readable.
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAIL_OUTBOX_DIR = DATA_DIR / "outbox"
MAILERS = {
    "default": {
        "BACKEND": _MAIL_BACKEND,
        "OPTIONS": (
            {
                "host": envstr("SMTP_HOST", "localhost"),
                "port": envint("SMTP_PORT", 25),
                "username": envstr("SMTP_USER"),
                "password": envsecret("SMTP_PASSWORD"),
                "use_tls": envbool("SMTP_USE_TLS"),
            }
            if _MAIL_BACKEND.endswith("smtp.EmailBackend")
            else {"file_path": str(MAIL_OUTBOX_DIR)}
            if _MAIL_BACKEND.endswith("filebased.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "KAT Clinic <no-reply@katclinic.invalid>")

TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if TESTING and not envbool("KATCLINIC_TEST_DB_TASKS")
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}
WORKER_HEARTBEAT_STALE_SECONDS = envint("WORKER_HEARTBEAT_STALE_SECONDS", 120)

# Audit events are chained with an HMAC so that an edit made with database access
# alone cannot recompute a valid chain. Keep this key out of the database's backups.
AUDIT_HMAC_KEY = envsecret("AUDIT_HMAC_KEY") or SECRET_KEY
# Signed checkpoints of the audit chains, written outside the database by the worker;
# ship this file (or the log lines of katclinic.audit.checkpoint) off the machine.
AUDIT_CHECKPOINT_FILE = envstr(
    "AUDIT_CHECKPOINT_FILE",
    # Tests never write into the data folder; each test process has its own file.
    str(Path(tempfile.gettempdir()) / f"katclinic-test-checkpoints-{os.getpid()}.jsonl")
    if TESTING
    else str(DATA_DIR / "audit-checkpoints.jsonl"),
)
AUDIT_CHECKPOINT_MINUTES = envint("AUDIT_CHECKPOINT_MINUTES", 5)
# Audit events are appended without waiting for one another and sealed into their clinic's
# hash chain by the worker this many seconds later at most; `manage.py verify_audit` shows
# how many are waiting. Until sealed, an event removed by someone with database access is
# seen only as a gap in the event ids (see deploy/README.md).
AUDIT_SEAL_SECONDS = envint("AUDIT_SEAL_SECONDS", 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "katclinic.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": envstr("LOG_FORMAT", "plain" if DEBUG else "json"),
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {
        "handlers": ["console"],
        "level": envstr("LOG_LEVEL", "WARNING" if TESTING else "INFO"),
    },
    # Django's request log names the concrete path (record ids); katclinic.request logs
    # each request by its URL pattern, and crashes with their stack, instead.
    "loggers": {"django.request": {"handlers": ["discard"], "propagate": False}},
}

# Card payments go through a hosted checkout; card data never reaches this server. "console"
# logs the checkout and treats it as paid when staff confirm; "stripe" uses Stripe Checkout.
BILLING_PAYMENT_PROVIDER = envstr("BILLING_PAYMENT_PROVIDER", "console")
BILLING_STRIPE_SECRET_KEY = envsecret("BILLING_STRIPE_SECRET_KEY")
# API tokens expire after this many days unless issued with another lifetime (at most
# API_TOKEN_MAX_DAYS). Long-lived bearer secrets are the failure OWASP API Security Top 10
# 2023, API2:2023 Broken Authentication, names (https://owasp.org/API-Security/editions/2023/
# en/0xa2-broken-authentication/); NIST SP 800-63B (https://pages.nist.gov/800-63-3/sp800-63b.html)
# section 7 asks that every session secret have a set lifetime and be revocable. 90 days is
# this project's policy choice within that guidance.
API_TOKEN_DAYS = envint("API_TOKEN_DAYS", 90)
API_TOKEN_MAX_DAYS = 365
# SMART on FHIR apps. Access tokens live an hour: SMART App Launch 2.x answers the token
# request with expires_in and shows 3600 seconds in its example
# (https://hl7.org/fhir/smart-app-launch/app-launch.html, "Obtain access token"); RFC 6819
# section 5.1.5.3 (https://www.rfc-editor.org/rfc/rfc6819#section-5.1.5.3) asks for short-lived
# access tokens. RFC 6749 section 4.1.2 (https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)
# recommends at most 10 minutes for an authorization code; this server allows 2. Refresh
# tokens rotate on every use and a reused one revokes its grant, as RFC 9700 section 4.14.2
# (https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2) advises for public clients; they
# expire after SMART_REFRESH_TOKEN_DAYS (this project's policy, as API_TOKEN_DAYS).
SMART_ACCESS_TOKEN_SECONDS = envint("SMART_ACCESS_TOKEN_SECONDS", 3600)
SMART_CODE_SECONDS = 120
SMART_REFRESH_TOKEN_DAYS = envint("SMART_REFRESH_TOKEN_DAYS", 90)
# A backend service's token lives five minutes, as SMART Backend Services recommends
# (https://hl7.org/fhir/smart-app-launch/backend-services.html); it asks again with a new
# signed assertion.
SMART_BACKEND_TOKEN_SECONDS = envint("SMART_BACKEND_TOKEN_SECONDS", 300)
# An EHR launch value (SMART App Launch 2.x, "EHR launch") is used once, within 5 minutes:
# the specification leaves its lifetime to the server, and it stands for an authorization
# about to be asked, so it is kept within RFC 6749 section 4.1.2's 10-minute ceiling for
# an authorization code (https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2).
SMART_LAUNCH_SECONDS = 300
# The RSA private key (PEM) that signs OpenID Connect id_tokens (RS256, as OpenID Connect
# Core 1.0 section 15.1 requires servers to support: https://openid.net/specs/openid-connect-core-1_0.html).
# Empty: the server makes a 2048-bit key once and keeps it in the database.
SMART_ID_TOKEN_KEY = envsecret("SMART_ID_TOKEN_KEY")
# Bulk Data $export files, one folder per clinic; they are deleted once they expire
# (the clinic's setting). Tests never write into the data folder.
BULK_EXPORT_DIR = Path(
    envstr(
        "BULK_EXPORT_DIR",
        str(Path(tempfile.gettempdir()) / f"katclinic-test-exports-{os.getpid()}")
        if TESTING
        else str(DATA_DIR / "exports"),
    )
)
