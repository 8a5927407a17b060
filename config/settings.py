"""Flipside settings, read from environment variables only.

Two modes (see README "How it runs"):
- embedded default, nothing set: SQLite in WAL mode under var/, in-memory channel layer, Celery
  tasks run in-process after commit, e-mail printed to the console, files under var/media/;
- services: DATABASE_URL (PostgreSQL) and REDIS_URL (channel layer, Celery broker and results,
  cache), optionally S3-compatible storage (AWS_STORAGE_BUCKET_NAME and friends).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF

from config.env import Env, EnvError

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", default=False)
SECRET_KEY = env.string("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise EnvError("SECRET_KEY", "must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# The address people reach this deployment at, scheme included (https://learn.example.edu.au):
# the one source of every absolute URL (credential ids and pages, LinkedIn and QR links, status
# lists, links in e-mails). `make run` sets it to the address it serves; `check --deploy`
# refuses a production start without it (delivery/checks.py).
PUBLIC_URL_SET = env.is_set("PUBLIC_URL")
# The did:web host of the issuer (host[:port]). Derived from PUBLIC_URL unless set: set it only
# to keep signing as an earlier host's DID (see docs/moving-host.md).
CREDENTIALS_HOST = env.string("CREDENTIALS_HOST")
# Unset: deployments from before PUBLIC_URL set only CREDENTIALS_HOST and were served over
# https at that host, which is what their credentials already name; else the address
# `make run` serves by default.
PUBLIC_URL = env.origin("PUBLIC_URL") or (
    f"https://{CREDENTIALS_HOST}" if CREDENTIALS_HOST else "http://127.0.0.1:8000"
)
# The signing keys are encrypted at rest with this secret (changing it makes them unreadable).
CREDENTIALS_KEY_SECRET = env.string("CREDENTIALS_KEY_SECRET", SECRET_KEY)
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS")
# Where each unit or course is published on the national register; credentials align to it.
CREDENTIALS_REGISTER_URL = env.string(
    "CREDENTIALS_REGISTER_URL", "https://training.gov.au/Training/Details/{code}"
)
CREDENTIALS_REGISTER_NAME = env.string(
    "CREDENTIALS_REGISTER_NAME", "training.gov.au, the National Register of VET"
)
# Learners are reminded this many days before a credential expires (e-mail and in the app).
CREDENTIALS_REMINDER_DAYS = (90, 30)
# The public verify endpoint: requests per client address (django-ratelimit, which counts in
# the default cache: Redis when configured, else per process) and the largest body it reads.
CREDENTIALS_VERIFY_RATE = env.string("CREDENTIALS_VERIFY_RATE", "30/m")
CREDENTIALS_VERIFY_MAX_BYTES = 2 * 1024 * 1024

# The provider this deployment serves (one deployment, one provider).
PROVIDER_NAME = env.string("PROVIDER_NAME", "Riverbend Training College")
# The provider's RTO code on the national register: Standards for RTOs require it wherever the
# provider issues a certification (certificates, credential pages). A demo code under DEBUG.
PROVIDER_RTO_CODE = env.string("PROVIDER_RTO_CODE", "91234" if DEBUG else "")
TIME_ZONE = env.string("TIME_ZONE", "Australia/Sydney")
LANGUAGE_CODE = "en-au"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "delivery.apps.DeliveryConfig",
    "assessment.apps.AssessmentConfig",
    "credentials.apps.CredentialsConfig",
    "live.apps.LiveConfig",
    "catalogue.apps.CatalogueConfig",
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
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Auditors: every page and file they open is audited; a read-only auditor changes nothing.
    "assessment.records.middleware.AuditorMiddleware",
    # A lost database connection: 503 "nothing was saved, try again", not a server error.
    "delivery.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "delivery.context_processors.navigation",
            ],
        },
    },
]

# Database ---------------------------------------------------------------------------------

_database = env.database("DATABASE_URL")
if _database is None:
    # The embedded default keeps its database, media and collected static files under var/.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": _database
    or {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "flipside.sqlite3",
        "OPTIONS": {
            # WAL lets pages read while a background job writes; IMMEDIATE takes the write lock
            # at BEGIN so two writers queue on `timeout` instead of failing with "locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # One connection per thread, kept: opening one (and its PRAGMAs) cost a signed-in
        # request about a millisecond, as much as the rest of a page served from the cache.
        "CONN_MAX_AGE": None,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: channel layer, Celery, cache ------------------------------------------------------

REDIS_URL = env.redis_url("REDIS_URL")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 times sockets out after 5 s, exactly channels_redis's blocking-receive
            # wait (brpop_timeout = 5): every idle consumer then fails with TimeoutError
            # (django/channels_redis#422). A longer socket timeout lets the receive return.
            # Every command is bounded (connect and read), so a Redis that restarts or
            # vanishes fails a command instead of hanging it, and the live hub recovers.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 10,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": "flipside:ch",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "flipside",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker, tasks run in this process; `delay_on_commit()` still waits for the commit.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic work, run by `celery -A config beat` (one beat process per deployment).
CELERY_BEAT_SCHEDULE = {
    "marking-digests": {
        "task": "assessment.tasks.send_marking_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    "purge-stale-uploads": {
        "task": "assessment.tasks.purge_stale_uploads",
        "schedule": crontab(hour=3, minute=30),
    },
    "credential-expiry-reminders": {
        "task": "credentials.tasks.send_expiry_reminders",
        "schedule": crontab(hour=8, minute=0),
    },
    "resume-stale-exports": {
        "task": "assessment.tasks.resume_stale_exports",
        "schedule": crontab(minute="*/5"),
    },
    "expire-record-exports": {
        "task": "assessment.tasks.expire_record_exports",
        "schedule": crontab(hour=4, minute=15),
    },
    # A waiting-list offer not taken in time passes to the next learner.
    "expire-waiting-list-offers": {
        "task": "delivery.enrolment.tasks.expire_waiting_list_offers",
        "schedule": crontab(minute="*/15"),
    },
}
# Bulk exports of records run on their own queue, so a long export never delays marking
# e-mails or credentials: run `celery -A config worker -Q exports` beside the default worker.
CELERY_TASK_ROUTES = {"assessment.tasks.build_record_export": {"queue": "exports"}}
# How long a finished export archive may be downloaded.
RECORD_EXPORT_DAYS = env.integer("RECORD_EXPORT_DAYS", 7, minimum=1)
# How long an unacknowledged task waits before Redis hands it to another worker (acks_late
# tasks whose worker died), and how often workers sweep for such tasks (one Redis scan per
# sweep: kombu's default throttle would make the sweep every 100 s). Longer than any task
# runs; tests shorten both.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    "unacked_restore_interval": env.integer("CELERY_RESTORE_INTERVAL", 60, minimum=1),
    "unacked_restore_throttle": 1,
}

# Files ------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Evidence is private: MEDIA_ROOT is never served by URL, only through views that check access.
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/private-media-is-not-served/"

AWS_STORAGE_BUCKET_NAME = env.string("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.string("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env.string("AWS_S3_REGION_NAME") or None,
            "access_key": env.string("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env.string("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Course content -----------------------------------------------------------------------

# Videos may be embedded (in an iframe) only from these hosts; the CSP's frame-src follows.
VIDEO_EMBED_HOSTS = env.strings(
    "VIDEO_EMBED_HOSTS", ["www.youtube-nocookie.com", "player.vimeo.com"]
)

# Evidence uploads: the largest single file, and where resumable uploads wait until complete.
EVIDENCE_MAX_BYTES = env.integer("EVIDENCE_MAX_MB", 2048, minimum=1) * 1024 * 1024
# Unfinished resumable uploads one person may hold at once (each reserves up to the size above).
EVIDENCE_MAX_OPEN_UPLOADS = env.integer("EVIDENCE_MAX_OPEN_UPLOADS", 10, minimum=1)
# The largest photo accepted: its header is read at upload, never its pixels.
EVIDENCE_MAX_PIXELS = env.integer("EVIDENCE_MAX_MEGAPIXELS", 50, minimum=1) * 1_000_000
EVIDENCE_STAGING_DIR = Path(env.string("EVIDENCE_STAGING_DIR", str(MEDIA_ROOT / "uploads-partial")))

# Retention: evidence files are kept at least this many months after the unit's outcome, then
# may be purged (`manage.py purge_evidence`); outcomes, credentials and the audit trail are
# certification records, kept for CERTIFICATION_RECORD_YEARS (never purged by the app). A legal
# hold on a learner stops any purge of their records.
RETENTION_EVIDENCE_MONTHS = env.integer("RETENTION_EVIDENCE_MONTHS", 24, minimum=1)
CERTIFICATION_RECORD_YEARS = 30

# The largest single file a content pack may carry (videos included).
CONTENT_PACK_MAX_FILE_MB = env.integer("CONTENT_PACK_MAX_FILE_MB", 512, minimum=1)

# Enrolment --------------------------------------------------------------------------------

# A place offered from a waiting list is held this many days, then offered to the next learner.
ENROLMENT_OFFER_DAYS = env.integer("ENROLMENT_OFFER_DAYS", 3, minimum=1)
# An e-mailed invitation to join an intake can be used once, within this many days.
ENROLMENT_INVITATION_DAYS = env.integer("ENROLMENT_INVITATION_DAYS", 14, minimum=1)
# A staff CSV of learners: larger files are refused before they are read.
ENROLMENT_CSV_MAX_ROWS = 5000
ENROLMENT_CSV_MAX_BYTES = 2 * 1024 * 1024

# Authentication ---------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions are read from the cache (Redis in services mode) and written through to the
# database, saving a query on every signed-in page without losing sessions on a cache flush.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: this many failures for one username from one address locks that pair out.
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "delivery.views.login_locked_out"
AXES_VERBOSE = False

# Security ---------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.boolean("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# TLS usually ends at the proxy in front; it redirects plain HTTP and tells us the scheme.
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=False)
if env.boolean("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", default=False)

# No inline script or style anywhere: htmx is configured (meta htmx-config in base.html) not to
# inject styles or evaluate code, so it runs under this policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # Our own PDFs shown inline, and video embeds from the allow-listed hosts.
        "frame-src": [SELF, *(f"https://{host}" for host in VIDEO_EMBED_HOSTS)],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# E-mail -----------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Flipside <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.is_set("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.string("EMAIL_HOST")
    EMAIL_PORT = env.integer("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", default=True)
elif env.is_set("EMAIL_FILE_PATH"):
    # Each e-mail written to a file in this folder: the browser journeys read the sign-up
    # confirmation from there.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.string("EMAIL_FILE_PATH")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO").upper()},
    # WeasyPrint logs every rendering step at INFO; its warnings (a refused URL) still show.
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}
