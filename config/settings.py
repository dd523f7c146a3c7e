"""All settings, read from the environment. Defaults run the platform on one machine.

DATABASE_URL, REDIS_URL and STORAGE_BACKEND switch the embedded parts (SQLite, the ORM
broker, the in-memory channel layer, local files) for their production counterparts.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_int, env_rate
from config.install_secret import derived_secret, install_secret
from config.live import live_settings
from config.operations import operations_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))
DEBUG = env_bool("DEBUG", False)
# Unset: a secret made for this install on its first run (VAR_DIR/secret_key). Machines
# that must agree (several web servers, workers, ingest nodes) set the same SECRET_KEY.
SECRET_KEY = env("SECRET_KEY") or install_secret(VAR_DIR)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")]
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

# --- HTTPS ----------------------------------------------------------------------
# An https:// PUBLIC_BASE_URL with DEBUG off is a production site: browsers are sent to
# HTTPS and told to stay there, and cookies travel over HTTPS only. Each one can be
# overridden by the environment variable of the same name.
_HTTPS_SITE = PUBLIC_BASE_URL.startswith("https://") and not DEBUG
# TLS ends at a proxy (nginx, a load balancer) that sets X-Forwarded-Proto, replacing
# whatever the client sent (deploy/README.md); without the header a request is plain HTTP.
if env_bool("TRUST_X_FORWARDED_PROTO", _HTTPS_SITE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS_SITE)
# Ingest nodes call back over plain HTTP on the private network: nginx-rtmp has no TLS
# client, and a redirect would drop the callback.
SECURE_REDIRECT_EXEMPT = [r"^live/ingest/"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS_SITE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS_SITE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _HTTPS_SITE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS_SITE)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading puts the domain in browsers' built-in lists, which takes months to
    # undo: an operator's decision, not a default, so its reminder is silenced.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env("SECURE_REFERRER_POLICY", "same-origin")
# No page may be framed but the embed player (playback.views.embed is exempt).
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne", "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "foundation.axes_app.SignInAttemptsConfig",  # django-axes
    "rest_framework", "drf_spectacular", "drf_spectacular_sidecar", "django_q", "channels",
    # The platform's apps, lowest layer first (tests/test_layers.py).
    "foundation", "webhooks", "media_core", "playback", "live",
]

MIDDLEWARE = [
    "foundation.middleware.RequestIdMiddleware",
    "foundation.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused admin login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

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
            ]
        },
    }
]

# --- database -------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Connections outlive the request (opening one to PostgreSQL costs 4.6-6.4 ms, more than
# an API read): each thread keeps its own for CONN_MAX_AGE seconds, tested once per
# request (CONN_HEALTH_CHECKS) so one the server dropped is replaced, not failed. daphne
# runs each request in a thread of its own and keeps none (config/asgi.py). DATABASE_POOL
# (PostgreSQL) uses psycopg's pool instead; not the default, since django-q2 forks its
# workers from a process whose pool they must not inherit, and under gunicorn's fixed
# threads it saved nothing over kept connections (README, Configuration).
DATABASE_POOL = env_bool("DATABASE_POOL", False)
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 0 if DATABASE_POOL else 60)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE,
                            conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True))
if DATABASE_POOL:
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL needs PostgreSQL (a postgres:// DATABASE_URL).")
    if CONN_MAX_AGE:
        raise ImproperlyConfigured("DATABASE_POOL keeps connections in the pool: leave "
                                   "CONN_MAX_AGE unset or 0 (Django refuses both).")
    _pool = {"min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
             "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)}
    if _pool["min_size"] > _pool["max_size"]:
        raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE.")
    _db.setdefault("OPTIONS", {})["pool"] = _pool
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and workers read while one of them writes; IMMEDIATE
    # takes the write lock at BEGIN so concurrent writers queue instead of failing.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so the server and worker processes a test starts share it;
    # one per test run, so concurrent runs never recreate each other's database.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- storage --------------------------------------------------------------------
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STATIC_ROOT = VAR_DIR / "static"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files are served straight from the source folders, so a checkout serves the
# admin's CSS with DEBUG off and no collectstatic; 0 serves only STATIC_ROOT, filled
# (and compressed) by collectstatic.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STORAGE_BACKEND = env("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "local":
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
elif STORAGE_BACKEND == "s3":
    if not env("S3_BUCKET"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET.")
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL"),
            "region_name": env("S3_REGION"),
            "access_key": env("S3_ACCESS_KEY_ID"),
            "secret_key": env("S3_SECRET_ACCESS_KEY"),
            "location": env("S3_PREFIX", ""),
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            "addressing_style": env("S3_ADDRESSING_STYLE") or None,  # path: S3 servers on an IP
        },
    }
else:
    raise ImproperlyConfigured("STORAGE_BACKEND must be 'local' or 's3'.")
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Large request bodies spool to disk past this size, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = None
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- queue and channel layer ----------------------------------------------------
REDIS_URL = env("REDIS_URL")
PROCESSING_TIMEOUT_SECONDS = env_int("PROCESSING_TIMEOUT_SECONDS", 3 * 3600, minimum=10)
Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", "kino"),
    "workers": env_int("WORKERS", 2, minimum=1),
    "recycle": 200,
    # A task longer than `retry` is handed out again, so retry must exceed timeout.
    "timeout": PROCESSING_TIMEOUT_SECONDS + 60,
    "retry": PROCESSING_TIMEOUT_SECONDS + 120,
    "max_attempts": 5,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    "label": "Task queue",
}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "foundation.cache.ReusingRedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "kino"}}
    Q_CLUSTER["redis"] = REDIS_URL
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    Q_CLUSTER["orm"] = "default"
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["foundation.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["foundation.api.permissions.HasRequiredScopes"],
    "DEFAULT_RENDERER_CLASSES": ["foundation.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "foundation.api.pagination.CursorPagination",
    "EXCEPTION_HANDLER": "foundation.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    # Request budgets (rates under "rate limits" below).
    "DEFAULT_THROTTLE_CLASSES": [
        "foundation.api.throttling.KeyReadBudget",
        "foundation.api.throttling.KeyWriteBudget",
        "foundation.api.throttling.KeyUploadBudget",
        "foundation.api.throttling.AddressBudget",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kino video API",
    "DESCRIPTION": (
        "Uploads, assets, playback and events. Authenticate with "
        "`Authorization: Bearer <api key>`. Errors are RFC 9457 problem documents. "
        "Every POST accepts `Idempotency-Key`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"AssetStatusEnum": "media_core.models.Asset.Status"},  # tracks share it
    # Swagger UI from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- rate limits ----------------------------------------------------------------
# Reverse proxies in front of the platform that append to X-Forwarded-For (nginx, a load
# balancer). 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored, since any
# client can send it (foundation/client_address.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# API budgets per key: reads as Stripe's live mode, writes half (each commits audit and
# event rows), new media as Stripe's Files API; per address without a key (only the
# schema answers then). Windows kept by limits: shared with REDIS_URL (README, Rate limits).
API_RATE_LIMIT_READ = env_rate("API_RATE_LIMIT_READ", "100/second")
API_RATE_LIMIT_WRITE = env_rate("API_RATE_LIMIT_WRITE", "50/second")
API_RATE_LIMIT_UPLOADS = env_rate("API_RATE_LIMIT_UPLOADS", "20/second")
API_RATE_LIMIT_ANONYMOUS = env_rate("API_RATE_LIMIT_ANONYMOUS", "60/minute")
# auto (on with REDIS_URL), on or off: documents built once per change (foundation/documents.py)
API_DOCUMENT_CACHE = env("API_DOCUMENT_CACHE", "auto")
# Failed credentials from one address: past the limit within the window, its
# credentialed requests get 429 (foundation/credential_failures.py).
CREDENTIAL_FAILURE_LIMIT = env_int("CREDENTIAL_FAILURE_LIMIT", 20, minimum=1)
CREDENTIAL_FAILURE_WINDOW_SECONDS = env_int("CREDENTIAL_FAILURE_WINDOW_SECONDS", 300, minimum=1)
# Admin login (django-axes, attempts kept in the database): a username is locked at an
# address after this many wrong passwords, for the cool-off; a success clears the count;
# `python manage.py axes_reset` lifts every lock (foundation/admin_login.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "foundation.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "foundation.admin_login.locked_out"

# --- media processing -----------------------------------------------------------
FFMPEG_BIN = env("FFMPEG_BIN", "ffmpeg")
FFPROBE_BIN = env("FFPROBE_BIN", "ffprobe")
X264_PRESET = env("X264_PRESET", "veryfast")
MAX_RESOLUTION = env_int("MAX_RESOLUTION", 1080, minimum=144)
# A standard input (H.264 with AAC, media_core/processing/copy.py) plays from a stream
# copy of itself about a second after it arrives, while its ladder is encoded.
REMUX_FIRST = env_bool("REMUX_FIRST", True)
# How much lower the ladder's CPU priority is than everything else's (Unix nice): the
# stream copy beside it, the web server and on-demand images do not wait behind it.
# Alone on the machine it is as fast; 0 runs it at the worker's priority.
ENCODE_NICE = env_int("ENCODE_NICE", 10, minimum=0)
# The longest video unless its environment sets its own limit (a container declares any
# duration in a few bytes); 12 hours as Mux, a day's conference track or live recording.
ASSET_MAX_DURATION_SECONDS = env_int("ASSET_MAX_DURATION_SECONDS", 12 * 3600, minimum=1)
PROCESSING_MAX_ATTEMPTS = env_int("PROCESSING_MAX_ATTEMPTS", 3, minimum=1)
# A running job renews its lease as it reports progress; a job whose lease ran out
# lost its worker and is handed to another.
PROCESSING_LEASE_SECONDS = env_int("PROCESSING_LEASE_SECONDS", 60, minimum=2)
PROCESSING_TMP_DIR = Path(env("PROCESSING_TMP_DIR", str(VAR_DIR / "tmp")))
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 4 * 1024**3, minimum=1)
UPLOAD_URL_TTL_SECONDS = env_int("UPLOAD_URL_TTL_SECONDS", 3600, minimum=60)
# Resumable uploads grow on this machine's disk (`disk`, in UPLOAD_STAGING_DIR: web
# servers behind one balancer must share it), or as one object per request in media
# storage (`storage`, the default with S3: any web server takes any request).
UPLOAD_STAGING = env("UPLOAD_STAGING", "storage" if STORAGE_BACKEND == "s3" else "disk")
UPLOAD_STAGING_DIR = Path(env("UPLOAD_STAGING_DIR", str(VAR_DIR / "staging")))
# The admin's upload page sends files in tus PATCH requests of this size: a dropped
# connection costs at most one chunk, and an ASGI server holds a whole chunk in memory.
ADMIN_UPLOAD_CHUNK_BYTES = env_int("ADMIN_UPLOAD_CHUNK_BYTES", 8 * 1024**2, minimum=64 * 1024)
if ADMIN_UPLOAD_CHUNK_BYTES > 64 * 1024**2:
    raise ImproperlyConfigured("ADMIN_UPLOAD_CHUNK_BYTES must be at most 67108864 (64 MiB)")

# --- URL import -----------------------------------------------------------------
# Imports reach only public addresses; these networks (CIDRs, comma-separated) are
# allowed besides, e.g. an intranet media server. Default: none.
URL_IMPORT_ALLOWED_NETWORKS = [c.strip() for c in env("URL_IMPORT_ALLOWED_NETWORKS", "").split(",")
                               if c.strip()]
for _cidr in URL_IMPORT_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"URL_IMPORT_ALLOWED_NETWORKS: {_cidr!r} is not a network (e.g. 10.1.0.0/16)") from exc
URL_IMPORT_CONNECT_TIMEOUT = env_int("URL_IMPORT_CONNECT_TIMEOUT", 10, minimum=1)
URL_IMPORT_READ_TIMEOUT = env_int("URL_IMPORT_READ_TIMEOUT", 30, minimum=1)

# --- webhooks -------------------------------------------------------------------
# Seconds to wait before each attempt of a delivery (the first is usually 0); after
# the last one fails the delivery is dead-lettered. Default: the Standard Webhooks
# schedule, about 3 days in all. Each wait gets +-10 % jitter.
WEBHOOK_RETRY_SCHEDULE = env("WEBHOOK_RETRY_SCHEDULE",
                             "0,5,300,1800,7200,18000,36000,50400,72000,86400")
try:
    _webhook_waits = [float(s) for s in WEBHOOK_RETRY_SCHEDULE.split(",") if s.strip()]
except ValueError as exc:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, e.g. 0,5,300") from exc
if not _webhook_waits or any(w < 0 for w in _webhook_waits):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE needs at least one wait, none negative")
# Endpoints on loopback and private networks (development, an intranet receiver).
# Off in production: a webhook URL is a user's URL like any other.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1)
# A retry due within this many seconds gets a task that waits for it (holding a worker
# that long at most); later ones are queued by the every-minute schedule.
WEBHOOK_PROMPT_RETRY_SECONDS = env_int("WEBHOOK_PROMPT_RETRY_SECONDS", 10, minimum=0)

# --- playback -------------------------------------------------------------------
# Signs the path tokens of child playlists and segments; nginx delivery needs the same
# value (deploy/nginx). Derived from SECRET_KEY unless set.
PLAYBACK_PATH_SECRET = env("PLAYBACK_PATH_SECRET") or derived_secret(SECRET_KEY, "playback-path")
# With nginx in front (deploy/nginx): downloads are checked here and their bytes sent by
# nginx from this internal location (X-Accel-Redirect); empty: sent from here.
DOWNLOAD_ACCEL_PREFIX = env("DOWNLOAD_ACCEL_PREFIX", "")

# --- live: the ingest and its streams (config/live.py) ----------------------------
globals().update(live_settings(public_base_url=PUBLIC_BASE_URL, secret_key=SECRET_KEY,
                               var_dir=VAR_DIR))

# --- operations: metrics, logs, usage (config/operations.py) ---------------------
globals().update(operations_settings(var_dir=VAR_DIR))

# --- time, logging --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["config.formats"]  # dates as 2026-11-30 17:09 (USE_I18N: on, the default)
USE_TZ = True
# LOG_LEVEL, LOG_FORMAT and LOGGING: config/operations.py.
