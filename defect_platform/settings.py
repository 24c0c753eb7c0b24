"""Settings for every mode, driven by environment variables (see deploy/.env.example).

Embedded defaults need nothing installed: SQLite, media on local disk, Celery on kombu's
filesystem transport and the in-memory channel layer. DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL switch to the scaled-out mode.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from defect_platform.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)
from training.ml.runtime import PREFERENCE as RUNTIMES

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)

# Production mode refuses to start with a guessable key or without an explicit host list.
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "insecure-embedded-default-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
else:
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random string of at least 32 characters when DEBUG is "
            "off (production mode). Generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the host names this site answers to (comma-separated) "
            "when DEBUG is off (production mode)."
        )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "channels",
    "defect_platform.core",
    "annotation",
    "training",
    "inspection",
    "frontend",
]

MIDDLEWARE = [
    "defect_platform.core.middleware.RequestMetricsMiddleware",
    "defect_platform.core.request_limits.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "defect_platform.core.middleware.DatabaseErrorMiddleware",
]

ROOT_URLCONF = "defect_platform.urls"
WSGI_APPLICATION = "defect_platform.wsgi.application"
ASGI_APPLICATION = "defect_platform.asgi.application"

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
                "defect_platform.core.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, 0), conn_health_checks=True
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if _db["ENGINE"].endswith("postgresql"):
        _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5, 1)
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "db.sqlite3"}
if _db["ENGINE"].endswith("sqlite3"):
    # The web process and the worker write at once: WAL lets readers go on during a write,
    # IMMEDIATE transactions and a busy timeout make writers queue instead of failing.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT_S", 30, 1),
    }
    _db.pop("CONN_HEALTH_CHECKS", None)
    _db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery, Channels ---------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))
# Lets several installs (or test runs) share one Redis without seeing each other's keys.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "defect")
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", ("redis", "rediss", "amqp", "pyamqp", "filesystem")
)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:"}
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("BROKER_CONNECT_TIMEOUT_S", 5.0, 0.1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Job state lives in the database (durable, visible to every process); results are not needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"training.tasks.run_training_job": {"queue": "training"}}
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {
        "task": "training.tasks.reap_stale_jobs",
        "schedule": env_float("REAPER_INTERVAL_S", 30.0, 0.5),
    },
    "reap-stale-imports": {
        "task": "annotation.tasks.reap_stale_imports",
        "schedule": env_float("REAPER_INTERVAL_S", 30.0, 0.5),
    },
    "prune-record-images": {
        "task": "inspection.tasks.prune_record_images",
        "schedule": env_float("RETENTION_INTERVAL_S", 600.0, 1.0),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # The layer blocks up to 5 s per read; redis-py's default socket timeout is
                # also 5 s, which would cut those reads off.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
                "capacity": 200,
                "expiry": 10,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# How often the web process relays events that workers wrote to the database (embedded mode).
EVENT_RELAY_INTERVAL_S = env_float("EVENT_RELAY_INTERVAL_S", 1.0, 0.05)

# --- Training and inference -----------------------------------------------------------------
TRAINING_THREADS = env_int("TRAINING_THREADS", 1, 1)
TRAINING_LEASE_S = env_int("TRAINING_LEASE_S", 120, 5)
PRETRAINED_WEIGHTS_PATH = env_str("PRETRAINED_WEIGHTS_PATH")
# Otherwise smp's weights where an earlier download left them in the Hugging Face cache.
PRETRAINED_FROM_HF_CACHE = env_bool("PRETRAINED_FROM_HF_CACHE", True)

# --- Auth, API --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "defect_platform.core.service_tokens.ServiceTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "defect_platform.core.service_tokens.TokenScope",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "defect_platform.core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "defect_platform.core.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("THROTTLE_TOKEN_RATE", "30/min"),
        "inspect": env_str("THROTTLE_INSPECT_RATE", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Defect inspection platform API",
    "DESCRIPTION": "Projects per defect type, labels, training jobs, models and live inspection.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "defect_platform.core.schema_hooks.add_error_responses",
    ],
    # Several choice sets share a field name ("status", "verdict"): name each once.
    "ENUM_NAME_OVERRIDES": {
        "InspectionVerdictEnum": "inspection.models.InspectionRecord.Verdict",
        "TrainingJobStatusEnum": "training.models.TrainingJob.Status",
        "RunStatusEnum": "defect_platform.core.models.RunStatus",
        "DeliveryStatusEnum": "defect_platform.core.models.WebhookDelivery.Status",
    },
}

# --- Files --------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# The largest request body (files included) any route takes; the import route takes up to
# MAX_IMPORT_BYTES instead (request_limits.py answers 413 above them).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_MB", 200, 1) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
# As many files as one upload may hold (annotation serializers allow 1000 per request).
DATA_UPLOAD_MAX_NUMBER_FILES = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Images above this many pixels are refused (decompression bombs).
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 64_000_000, 1)

MQTT_URL = env_url("MQTT_URL", ("mqtt", "mqtts", "tcp"))
# Video files and image folders that replay cameras may read (nothing outside it).
CAMERA_FILES_ROOT = Path(env_str("CAMERA_FILES_ROOT") or DATA_DIR / "camera-files")
# Stream cameras may only point at these hosts or networks (CIDR); empty: anywhere.
CAMERA_NETWORKS = env_list("CAMERA_NETWORKS")
MQTT_TOPIC_PREFIX = env_str("MQTT_TOPIC_PREFIX", "defect-platform")
# View images of inspected objects above this total are pruned, oldest OK first (rows stay).
RECORD_IMAGES_MAX_MB = env_int("RECORD_IMAGES_MAX_MB", 20_480, 1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Production behind HTTPS: browsers keep to HTTPS (HSTS) and plain HTTP is redirected, except
# the probes, which load balancers and orchestrators call on the plain port.
# SECURE_COOKIES=0 (a plant network without TLS) turns all of it off.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SESSION_COOKIE_SECURE else 0, 0)
# Subdomains and the browsers' preload list commit the company's whole domain to HTTPS: its
# administrators decide that, so these are off unless set, and Django's reminders are silenced.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env_bool("BEHIND_TLS_PROXY", False):  # the proxy terminates TLS and says so in a header
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# Stations run inside the web process (embedded) unless `manage.py run_station` runs them.
STATIONS_IN_WEB = env_bool("STATIONS_IN_WEB", True)
# How long a trigger waits for the station's runner to capture and judge before a 503; at most
# the Redis layer's message expiry (10 s), which drops a trigger that waited longer unanswered.
TRIGGER_ANSWER_S = env_float("TRIGGER_ANSWER_S", 10.0, 0.1)
# Threads per inference session in this process (web or station worker).
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 2, 1)
# "auto": each model version on the fastest runtime here that its accuracy gate passed.
# A runtime name forces it (e.g. onnxruntime-fp32 to rule out reduced precision).
INFERENCE_RUNTIME = env_choice(
    "INFERENCE_RUNTIME",
    "auto",
    ("auto", *RUNTIMES),
)
# A station's models on one OpenVINO runtime with one input size run as one merged network:
# one activation arena instead of one per model (registry.load_many). 0 loads them apart.
MERGE_MODELS = env_bool("MERGE_MODELS", True)
# Loaded models (and merged or fused networks) a process keeps, least recently used dropped
# first: above a station's six production and six shadow models, below a year of versions.
MODEL_CACHE_SIZE = env_int("MODEL_CACHE_SIZE", 16, 1)
# An export zip is built in memory up to this size, then in a temporary file.
EXPORT_MEMORY_MB = env_int("EXPORT_MEMORY_MB", 64, 0)
# The largest import upload, and the most an imported archive may unpack to.
MAX_IMPORT_BYTES = env_int("MAX_IMPORT_MB", 4096, 1) * 1024 * 1024
