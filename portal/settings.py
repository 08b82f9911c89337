"""Settings for Exchange Interop Portal.

Everything comes from the environment through the strict helpers in
``portal.lib.env``; README lists every variable. Without any variable set the
portal runs on the embedded default: SQLite and a file-system Celery broker
under ``var/``, email printed to the console.
"""

import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.accounts.sso_config import socialaccount_providers
from portal.lib.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_secret_list,
    env_str,
    parse_email_url,
    read_key_file,
    split_secret_list,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Unset, they fall back to the embedded default's own key files that `make run` wrote once.
SECRET_KEY = env_secret("SECRET_KEY") or read_key_file(VAR_DIR / "secret_key")
FIELD_ENCRYPTION_KEYS = env_secret_list("FIELD_ENCRYPTION_KEYS") or split_secret_list(
    read_key_file(VAR_DIR / "field_keys")
)
# Commands that only read the models and migration files never use either key, so they run on
# a clean clone without them (the CI's and a developer's `makemigrations --check`).
KEYLESS_COMMANDS = {"makemigrations", "showmigrations"}
_keyless = (
    len(sys.argv) > 1
    and Path(sys.argv[0]).name in {"manage.py", "django-admin"}
    and (sys.argv[1] in KEYLESS_COMMANDS)
)
if not SECRET_KEY or not FIELD_ENCRYPTION_KEYS:
    if not DEBUG and not _keyless:
        raise ImproperlyConfigured(
            "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set (or their *_FILE variants) "
            "when DEBUG is false. `make run` generates both under var/ for the embedded default."
        )
    # Throwaway values so `DEBUG=true manage.py ...` and the keyless commands start.
    SECRET_KEY = SECRET_KEY or "insecure-development-key-" + "x" * 40
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [
        "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk="
    ]
# Audit keys (HMAC-SHA256 of every audit event and checkpoint), newest first; older ones only
# verify. Like the keys above: AUDIT_KEY(_FILE), else the key file `make run` wrote once.
AUDIT_KEYS = env_secret_list("AUDIT_KEY") or split_secret_list(read_key_file(VAR_DIR / "audit_key"))
if not AUDIT_KEYS:
    if not DEBUG and not _keyless:
        raise ImproperlyConfigured(
            "AUDIT_KEY must be set (or AUDIT_KEY_FILE) when DEBUG is false: it seals the audit "
            "log and must not live in the database. `make run` generates var/audit_key."
        )
    AUDIT_KEYS = ["insecure-development-audit-key-" + "x" * 32]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = env_str("SITE_NAME", "Exchange Interop Portal")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",  # allauth's sessions page uses its filters
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.usersessions",
    "portal.audit",
    "portal.accounts",
    "portal.jobs",
    "portal.tenants",
    "portal.runs",
    "portal.configuration",
    "portal.grants",
    "portal.relay",
    "portal.integrations",
    "portal.ewsjobs",
    "portal.core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # After the CSP middleware: adds the IdP's origin to form-action on the SSO start views only.
    "portal.accounts.sso_csp.SSOFormActionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "portal.accounts.middleware.MFARequiredMiddleware",
    "portal.audit.middleware.AuditContextMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.core.context_processors.portal",
                "portal.audit.context_processors.chain_alert",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL points elsewhere (PostgreSQL).
DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "portal.sqlite3"}
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE transactions serialize writers up front, so appends such as
        # the audit chain never fork and never fail with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a real Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every process (login rate limits, used TOTP codes): CACHE_URL names
# Redis (redis://host:6379/1) or a directory (file:///path); the embedded default is a
# file-system cache under var/.
CACHE_URL = env_secret("CACHE_URL")
if CACHE_URL and CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL and CACHE_URL.startswith("file://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CACHE_URL.removeprefix("file://"),
        }
    }
elif CACHE_URL in (None, ""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
else:
    raise ImproperlyConfigured("CACHE_URL must start with redis://, rediss:// or file://")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:dashboard"

# django-allauth: no open sign-up; accounts come from an Admin's invitation,
# `manage.py createadmin`, or single sign-on from an allowed tenant with a mapped role.
ACCOUNT_ADAPTER = "portal.accounts.adapter.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_REQUIRED = False  # allauth asks for the old password itself
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_TIMEOUT", 300, minimum=30)
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")
ACCOUNT_RATE_LIMITS = {
    "login": env_str("RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": env_str("RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
}
# Rate limits and user sessions see the audit log's client IP: the account adapter's
# get_client_ip() is portal.lib.net.client_ip (TRUSTED_PROXY_COUNT below).
SOCIALACCOUNT_ADAPTER = "portal.accounts.sso.PortalSocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
MFA_ADAPTER = "portal.accounts.mfa.PortalMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env_str("SITE_NAME", "Exchange Interop Portal")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_RECOVERY_CODE_COUNT = 10
USERSESSIONS_TRACK_ACTIVITY = False  # sessions are recorded at sign-in; no write per request
INVITATION_DAYS = env_int("INVITATION_DAYS", 3, minimum=1)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Strict Content Security Policy: no inline script or style, no eval.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    # SSO start views also allow their IdP's origin (portal.accounts.sso_csp), no other page.
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
}

# Security headers; cookies are Secure whenever the portal is served over HTTPS.
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 8 * 3600, minimum=300)
SESSION_SAVE_EVERY_REQUEST = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Number of reverse proxies in front of the portal whose X-Forwarded-For is trusted.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Email: console by default; EMAIL_URL (smtp://user:pass@host:587?tls=true) or EMAIL_* set it.
EMAIL_URL = env_secret("EMAIL_URL")
if EMAIL_URL:
    _mailer = parse_email_url(EMAIL_URL)
elif env_str("EMAIL_HOST"):
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST"),
            "port": env_int("EMAIL_PORT", 587),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_secret("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
        },
    }
else:
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
if _mailer["BACKEND"].endswith("smtp.EmailBackend"):
    _mailer["OPTIONS"]["timeout"] = 15
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

# Celery: a broker that needs no server unless CELERY_BROKER_URL names Redis or RabbitMQ.
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    _default_results = f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
elif CELERY_BROKER_URL.startswith("redis"):
    _default_results = CELERY_BROKER_URL
    # Unacknowledged messages go to another worker after this long: longer than any task may
    # run (the hard time limit), so a slow chunk is never run twice at once by redelivery.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10) + 600
    }
else:
    _default_results = f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
CELERY_RESULT_BACKEND = env_secret("CELERY_RESULT_BACKEND", _default_results)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing a job must fail fast (the person is waiting for the page), never hang on a dead broker.
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
}  # fmt: skip
# Jobs: the executor refreshes a job's heartbeat this often; a job silent for JOB_STALE_SECONDS
# lost its worker and is re-driven (if safe to repeat, up to JOB_MAX_ATTEMPTS) or failed.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 60, minimum=3)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
# A queued job that no worker has received this long after its message was sent is sent again
# (a broker restarted without persistence loses messages; the job row does not).
JOB_RESEND_SECONDS = env_int("JOB_RESEND_SECONDS", 300, minimum=5)
# EWS jobs (portal/ewsjobs): Exchange's EWSMaxConcurrency per application (27), shared by every
# worker; threads per runner; runners per job; items per EWS call; a chunk's or a slot's lease
# (longer than any one call); how long one runner task works before handing over.
EWS_MAX_CONCURRENCY = env_int("EWS_MAX_CONCURRENCY", 27, minimum=1)
EWS_JOB_THREADS = env_int("EWS_JOB_THREADS", 14, minimum=1)
EWS_JOB_RUNNERS = env_int("EWS_JOB_RUNNERS", 2, minimum=1)
EWS_JOB_BATCH = env_int("EWS_JOB_BATCH", 100, minimum=1)
EWS_JOB_TIMEOUT = float(env_int("EWS_JOB_TIMEOUT", 60, minimum=5))
EWS_JOB_LEASE_SECONDS = env_int("EWS_JOB_LEASE_SECONDS", 150, minimum=2)
EWS_JOB_RUN_SECONDS = env_int("EWS_JOB_RUN_SECONDS", 900, minimum=30)
EWS_JOB_MAX_ITEMS = env_int("EWS_JOB_MAX_ITEMS", 10000, minimum=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "dispatch-due-connectivity-tests": {
        "task": "runs.dispatch_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reap-stale-jobs": {
        "task": "jobs.reap_stale",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}
# Audit retention: events older than this many days are exported under VAR_DIR/audit-exports/
# and then purged, once an hour; 0 keeps everything forever.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 0, minimum=0)
CELERY_BEAT_SCHEDULE["audit-purge-expired"] = {
    "task": "audit.purge_expired",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
# Audit checkpoints: the chain head, signed, outside the database (hourly and on demand), and
# optionally sent away; verification of chain, checkpoints and triggers runs hourly too.
AUDIT_CHECKPOINT_DIR = env_str("AUDIT_CHECKPOINT_DIR")  # None: VAR_DIR/audit-checkpoints
AUDIT_CHECKPOINT_EMAIL = env_list("AUDIT_CHECKPOINT_EMAIL")
AUDIT_CHECKPOINT_SYSLOG = env_str("AUDIT_CHECKPOINT_SYSLOG", "")
if AUDIT_CHECKPOINT_SYSLOG and not AUDIT_CHECKPOINT_SYSLOG.startswith(("udp://", "tcp://", "/")):
    raise ImproperlyConfigured(
        "AUDIT_CHECKPOINT_SYSLOG must be udp://host:port, tcp://host:port or a socket path"
    )
CELERY_BEAT_SCHEDULE["audit-write-checkpoint"] = {
    "task": "audit.write_checkpoint",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
CELERY_BEAT_SCHEDULE["audit-verify-chain"] = {
    "task": "audit.verify_chain",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
# SharePoint / Skype for Business integration checks: status history, one email per change.
CELERY_BEAT_SCHEDULE["integrations-check"] = {
    "task": "integrations.check_scheduled",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
# Relay credentials: owners whose rotation is due or overdue get one reminder per deadline.
CELERY_BEAT_SCHEDULE["relay-rotation-reminders"] = {
    "task": "relay.rotation_reminders",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
# Application grants: the longest expiry a grant may be given, and how many days before expiry
# the requester and approver are reminded; expiry and reminders run hourly.
GRANT_MAX_LIFETIME_DAYS = env_int("GRANT_MAX_LIFETIME_DAYS", 365, minimum=1)
GRANT_REMINDER_DAYS = env_int("GRANT_REMINDER_DAYS", 14, minimum=0)
CELERY_BEAT_SCHEDULE["grants-expire-and-remind"] = {
    "task": "grants.expire_and_remind",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
# Every approved or active grant is verified against Exchange once a day (one job).
CELERY_BEAT_SCHEDULE["grants-verify"] = {
    "task": "grants.verify_scheduled",
    "schedule": 86400.0,
    "options": {"expires": 3600},
}

# Connectivity probes: per-operation timeout, "test everything" concurrency, and whether probes
# may reach link-local / cloud-metadata addresses (refused unless this is true).
PROBE_TIMEOUT = float(env_int("PROBE_TIMEOUT", 10, minimum=1))
CONNECTIVITY_CONCURRENCY = env_int("CONNECTIVITY_CONCURRENCY", 8, minimum=1)
PROBE_ALLOW_LINK_LOCAL = env_bool("PROBE_ALLOW_LINK_LOCAL", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
