"""Django settings for QuantDesk, all from the environment (see ``quantdesk/env.py`` for the defaults)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from kombu import Queue

from .env import (
    BASE_DIR,
    VAR_DIR,
    channel_layer_hosts,
    database_url,
    env_bool,
    env_list,
    fernet_key,
    only_local_hosts,
    redis_url,
    secret_key,
    trusted_proxies,
)

VAR_DIR.mkdir(parents=True, exist_ok=True)
DEBUG = env_bool("DEBUG", False)  # the developer switch: DEBUG=1; never on by default
SECRET_KEY = secret_key()
QUANTDESK_FERNET_KEY = fernet_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Reverse proxies whose X-Forwarded-For names the client (default none: the peer is the client).
QUANTDESK_TRUSTED_PROXIES = trusted_proxies()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "trading",
    "strategies",
    "frontend",
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
]

ROOT_URLCONF = "quantdesk.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
ASGI_APPLICATION = "quantdesk.asgi.application"
WSGI_APPLICATION = None

# Connections are closed at the end of each request by default: under daphne every request runs its sync
# part in a fresh thread, so a persistent connection is never reused and stays open until PostgreSQL's
# limit is reached (the 1,000-request burst of issue 16 got "too many clients"). CONN_HEALTH_CHECKS
# drops a dead persistent connection before use when QUANTDESK_CONN_MAX_AGE is raised (workers).
DATABASES = {"default": dj_database_url.parse(database_url(), conn_max_age=int(os.environ.get(
    "QUANTDESK_CONN_MAX_AGE", "0")), conn_health_checks=True)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # web, worker and beat share one file: wait for locks instead of failing, write-ahead log for readers.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "quantdesk.static_storage.DeskStaticStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REDIS_URL = redis_url()
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # capacity: messages a socket may have queued (100 sockets x 20 events/s bursts need headroom over
        # channels_redis' 100); expiry: a queued message older than this is dropped.
        "CONFIG": {"hosts": channel_layer_hosts(REDIS_URL), "prefix": os.environ.get("QUANTDESK_CHANNEL_PREFIX", "asgi"),
                   "capacity": 1000, "expiry": 60, "group_expiry": 86400},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Two queues, two workers (``rundesk`` starts both): trading (signal cycles, monitor, reconciliation, the kill
# switch's close job, equity snapshots, alerts) never waits behind research (backtests, sweeps, optimisation), which
# gets everything not routed to trading.
CELERY_TASK_QUEUES = (Queue("trading"), Queue("research"))
CELERY_TASK_DEFAULT_QUEUE = "research"
CELERY_TASK_ROUTES = {"trading.tasks.*": {"queue": "trading"}, "trading.tasks_alerts.*": {"queue": "trading"},
                      "research.*": {"queue": "research"}}
# Late acks: a task is acknowledged when it ends, so a worker killed mid-task (kill -9, OOM) has it
# redelivered (reject_on_worker_lost); trading tasks are idempotent (deterministic client order ids) and a
# redelivered signal cycle past its bar records "expired" instead of trading. A task that raised is acked
# (acks_on_failure_or_timeout): its failure is recorded, and the beat schedule runs it again anyway.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# a pool process warms every kernel and strategy before its first task (quantdesk/celery.py); with a cold numba
# cache that takes a minute or more, longer than Celery's default 4 s wait for a new process's first message
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 300.0
QUANTDESK_WARM_WORKERS = os.environ.get("QUANTDESK_WARM_WORKERS", "1") not in ("0", "false", "no", "")
# Redis redelivers a message not acked within the visibility timeout. Sized to the longest task (one
# backtest or sweep point; trading tasks take seconds) with room to spare, not Celery's one hour, so a task
# lost with a dead worker comes back within minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("QUANTDESK_VISIBILITY_TIMEOUT", "1800")),
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # token first: an anonymous or bad-token request gets 401 with WWW-Authenticate: Token
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies: depth and NUL checked at the edge (trading/api/parsers.py); forms for the browsable API.
    "DEFAULT_PARSER_CLASSES": [
        "trading.api.parsers.DeskJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QuantDesk API",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",  # served locally, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SizingModeEnum": "trading.choices.SizingMode",
        "TimeframeEnum": "trading.choices.TIMEFRAME_CHOICES",
        "OrderSideEnum": "trading.choices.OrderSide",
        "PositionSideEnum": "trading.choices.Side",
        "OrderStatusEnum": "trading.choices.OrderStatus",
        "PositionStatusEnum": "trading.choices.PositionStatus",
        "StudyStatusEnum": "trading.models.research.StudyStatus",
        "RunStatusEnum": "trading.choices.RunStatus",
        "ExitReasonEnum": "trading.choices.ExitReason",
        "BybitEnvironmentEnum": "trading.choices.BybitEnvironment",
    },
}

# API tokens (django-rest-knox): stored as a hash, expire after QUANTDESK_TOKEN_TTL_HOURS; a user keeps at most
# QUANTDESK_TOKENS_PER_USER (a new login deletes the oldest beyond it, so a script that logs in on every run never
# locks itself out); POST /api/auth/token/refresh/ rotates one; a password change deletes all of a user's tokens.
QUANTDESK_TOKENS_PER_USER = 10
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=float(os.environ.get("QUANTDESK_TOKEN_TTL_HOURS", "10"))),
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

# Paper trading is the default. Live trading additionally needs a per-account switch and keys.
QUANTDESK_SHARED_DATA = os.environ.get("QUANTDESK_SHARED_DATA", str(BASE_DIR.parent / "shared" / "data"))
QUANTDESK_SIZING_CONFIG = BASE_DIR / "configs" / "leverage_position_sizing_config.yaml"
# The per-account lock's lease (seconds): renewed by a heartbeat while the holder works, so a killed holder
# frees the account within this long.
QUANTDESK_ACCOUNT_LOCK_SECONDS = float(os.environ.get("QUANTDESK_ACCOUNT_LOCK_SECONDS", "6"))
# Paper refuses to fill on (and the monitor to decide on) a price older than this, by the desk clock.
QUANTDESK_MAX_PRICE_AGE_SECONDS = float(os.environ.get("QUANTDESK_MAX_PRICE_AGE_SECONDS", "5"))
# Optuna trial heartbeats: a trial silent for the grace period (its worker died) is failed and retried.
QUANTDESK_RESEARCH_HEARTBEAT_SECONDS = int(os.environ.get("QUANTDESK_RESEARCH_HEARTBEAT_SECONDS", "10"))
QUANTDESK_RESEARCH_GRACE_SECONDS = int(os.environ.get("QUANTDESK_RESEARCH_GRACE_SECONDS", "60"))
# The user's own strategies: every *.py here (not starting with "_") is imported at start and on a rescan.
# A trust boundary: only files on this disk are loaded, never code sent over the web API.
QUANTDESK_USER_STRATEGIES_DIR = Path(os.environ.get("QUANTDESK_USER_STRATEGIES_DIR", BASE_DIR / "user_strategies"))
# Bias checks (lookahead, window independence, determinism, speed): bars of the check data set, and bars of
# the speed run (a year of 5m bars). Shared real data is used when present, else a seeded synthetic series.
QUANTDESK_BIAS_CHECK_BARS = int(os.environ.get("QUANTDESK_BIAS_CHECK_BARS", "12000"))
QUANTDESK_BIAS_SPEED_BARS = int(os.environ.get("QUANTDESK_BIAS_SPEED_BARS", "105120"))
QUANTDESK_BIAS_POSITIONS = int(os.environ.get("QUANTDESK_BIAS_POSITIONS", "500"))

# Bybit endpoints: None = pybit's own (api.bybit.com / testnet by account). Point them at a local fake
# exchange for offline runs (python -m fakebybit) and tests.
BYBIT_HTTP_ENDPOINT = os.environ.get("BYBIT_HTTP_ENDPOINT") or None
BYBIT_WS_PUBLIC_ENDPOINT = os.environ.get("BYBIT_WS_PUBLIC_ENDPOINT") or None
BYBIT_WS_PRIVATE_ENDPOINT = os.environ.get("BYBIT_WS_PRIVATE_ENDPOINT") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS-only cookies, redirect and HSTS when the desk is served under a real host name (behind TLS);
# a desk that answers only on 127.0.0.1/localhost (the default) is plain HTTP. QUANTDESK_HTTPS overrides.
QUANTDESK_HTTPS = env_bool("QUANTDESK_HTTPS", not DEBUG and not only_local_hosts(ALLOWED_HOSTS))
if QUANTDESK_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if QUANTDESK_TRUSTED_PROXIES:  # the scheme header is believed only from a configured proxy
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
