"""Settings shared by every environment; each value can be set from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured

from core.converters import SCHEMA_OVERRIDES as PATH_CONVERTER_SCHEMAS

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "")
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "mozilla_django_oidc",
    "core",
    "accounts",
    "groups",
    "filesharing",
    "submissions",
    "projects",
    "interop",
    "web",
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
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        engine="core.postgresql",  # Django's, reading timestamps faster: core/postgresql/base.py
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- S3 -------------------------------------------------------------------------------------
# filesharing.s3 takes its client and bucket from STORAGES["files"]; nothing else configures S3.
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
S3_BUCKET = env_str("S3_BUCKET", "seqvault")
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "path")
# Where clients reach S3 when that differs from S3_ENDPOINT_URL (presigned URLs are signed for it).
S3_PRESIGN_ENDPOINT_URL = os.environ.get("S3_PRESIGN_ENDPOINT_URL") or None
# Base URL of publicly readable objects (released files); defaults to the endpoint's bucket URL.
S3_PUBLIC_URL_BASE = os.environ.get("S3_PUBLIC_URL_BASE") or None

STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "files": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": S3_REGION,
            "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
            # Every S3 timeout and retry is set here (docs/operations.md, "Faults"): an S3 that
            # accepts connections and never answers costs a request at most
            # S3_MAX_ATTEMPTS x S3_READ_TIMEOUT_SECONDS (12 s by default) before it answers 503.
            "client_config": Config(
                signature_version="s3v4",
                s3={"addressing_style": S3_ADDRESSING_STYLE},  # type: ignore[arg-type]
                connect_timeout=env_int("S3_CONNECT_TIMEOUT_SECONDS", 3),
                read_timeout=env_int("S3_READ_TIMEOUT_SECONDS", 6),
                retries={"total_max_attempts": env_int("S3_MAX_ATTEMPTS", 2), "mode": "standard"},
                max_pool_connections=env_int("S3_MAX_POOL_CONNECTIONS", 32),
            ),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    },
}

# The health check's probe: one plain request to the endpoint, answered within this many seconds.
S3_HEALTH_TIMEOUT_SECONDS = env_int("S3_HEALTH_TIMEOUT_SECONDS", 2)
# Server-side copies of large objects (upload sessions' staging) are silent while S3 copies:
# their read timeout, used only by the workers' copy step.
S3_COPY_READ_TIMEOUT_SECONDS = env_int("S3_COPY_READ_TIMEOUT_SECONDS", 600)
# Completing a multipart upload: S3 assembles the parts before it answers, silent meanwhile
# (a minute or more for tens of GiB on some stores). One attempt, this long: within the
# command's 120 s wait for an API answer and gunicorn's worker timeout.
S3_COMPLETE_READ_TIMEOUT_SECONDS = env_int("S3_COMPLETE_READ_TIMEOUT_SECONDS", 100)
# A storage or broker outage, once seen, is remembered this long in the cache: meanwhile
# requests that need it answer 503 at once instead of handing out URLs to a dead endpoint.
OUTAGE_MEMO_SECONDS = env_int("OUTAGE_MEMO_SECONDS", 15)

# --- Cache (outage memos, rate limits): shared by every process -----------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CACHE_URL") or env_str("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # One Redis may serve several deployments (or test databases): keys are kept apart.
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", str(DATABASES["default"].get("NAME") or "")),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Pages load only this site's scripts, styles and images (no inline code, no CDN); the browser
# uploader sends parts straight to S3, so its origin is allowed to be connected to.
def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _s3_origins() -> list[str]:
    endpoint = S3_PRESIGN_ENDPOINT_URL or S3_ENDPOINT_URL
    if endpoint:
        return [_origin(endpoint)]
    # AWS: path-style and virtual-hosted URLs of the bucket's region.
    return [
        f"https://s3.{S3_REGION}.amazonaws.com",
        f"https://{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com",
    ]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *_s3_origins(), *env_list("CSP_CONNECT_SRC", [])],
        "form-action": ["'self'", *env_list("CSP_FORM_ACTION", [])],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Files ----------------------------------------------------------------------------------
MAX_FILE_SIZE = env_int("MAX_FILE_SIZE", 5 * 1024**4)  # 5 TiB, the S3 object limit
MAX_FILES_PER_REQUEST = 1000
UPLOAD_URL_LIFETIME = timedelta(seconds=env_int("UPLOAD_URL_LIFETIME_SECONDS", 30 * 60))
DOWNLOAD_URL_LIFETIME = timedelta(seconds=env_int("DOWNLOAD_URL_LIFETIME_SECONDS", 5 * 60))
# A requested upload that never arrives is expired after this long.
UPLOAD_DEADLINE = timedelta(seconds=env_int("UPLOAD_DEADLINE_SECONDS", 24 * 3600))
# Objects uploaded without a checksum are hashed by the verifier up to this size.
VERIFY_HASH_MAX_BYTES = env_int("VERIFY_HASH_MAX_BYTES", 1024**3)
# A verified file attached to nothing for longer than this counts as orphaned.
ORPHAN_RETENTION = timedelta(days=env_int("ORPHAN_RETENTION_DAYS", 7))
WEB_ORIGINS = env_list("WEB_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"])
API_TOKEN_DEFAULT_LIFETIME = timedelta(days=env_int("API_TOKEN_DEFAULT_LIFETIME_DAYS", 90))
# A group invitation not answered within this many days can no longer be accepted.
GROUP_INVITATION_DAYS = env_int("GROUP_INVITATION_DAYS", 14)

# --- Multipart uploads ----------------------------------------------------------------------
# Part size when the client asks for none; grown for files that would need over 10,000 parts.
MULTIPART_DEFAULT_PART_SIZE = env_int("MULTIPART_DEFAULT_PART_SIZE", 16 * 1024**2)
# Part URLs are short-lived; a client asks again for a fresh one (S3 checks expiry at the start).
MULTIPART_PART_URL_LIFETIME = timedelta(
    seconds=env_int("MULTIPART_PART_URL_LIFETIME_SECONDS", 15 * 60)
)
# A pending multipart upload with no request for this long is aborted in S3 (`cancelled`).
MULTIPART_STALE_AFTER = timedelta(seconds=env_int("MULTIPART_STALE_AFTER_SECONDS", 72 * 3600))
# The verifier streams completed objects up to this size through SHA-256 (default: all).
MULTIPART_VERIFY_HASH_MAX_BYTES = env_int("MULTIPART_VERIFY_HASH_MAX_BYTES", MAX_FILE_SIZE)
# Multipart uploads a group may have open at once; beyond it, 429 with Retry-After.
MAX_PENDING_UPLOADS_PER_GROUP = env_int("MAX_PENDING_UPLOADS_PER_GROUP", 20)
# Part URLs signed all at once, when the upload starts (Loculus's request-multipart-upload):
# they must outlast the whole upload, since such clients cannot ask for new ones.
UPFRONT_PART_URL_LIFETIME = timedelta(
    seconds=env_int("UPFRONT_PART_URL_LIFETIME_SECONDS", 12 * 3600)
)
# DRS URIs name this host (drs://<host>/<id>); by default the host the request came to.
DRS_HOSTNAME = os.environ.get("DRS_HOSTNAME", "")

# --- Sequence entries -----------------------------------------------------------------------
# Organisms (metadata schema, file categories) in YAML or JSON; the first one is the default.
ORGANISMS_CONFIG = env_str("ORGANISMS_CONFIG", str(BASE_DIR / "config" / "organisms.yaml"))
ACCESSION_PREFIX = env_str("ACCESSION_PREFIX", "SV_")
# Presigned GETs handed to the preprocessing pipeline with each unprocessed entry.
PIPELINE_READ_URL_LIFETIME = timedelta(
    seconds=env_int("PIPELINE_READ_URL_LIFETIME_SECONDS", 30 * 60)
)
MAX_ENTRIES_PER_PIPELINE_REQUEST = env_int("MAX_ENTRIES_PER_PIPELINE_REQUEST", 10_000)
# Entries handed to the pipeline with no result after this long are handed out again.
PIPELINE_STALE_AFTER = timedelta(seconds=env_int("PIPELINE_STALE_AFTER_SECONDS", 12 * 3600))
# S3 requests run at once when many files are checked (verification at submit, reconciliation).
S3_PARALLEL_REQUESTS = env_int("S3_PARALLEL_REQUESTS", 16)
# Orphaned files are reported daily; with cleanup on, a file reported (marked) on one run and
# still attached to nothing on the next is removed from S3.
ORPHAN_CLEANUP_ENABLED = env_bool("ORPHAN_CLEANUP_ENABLED", False)
# Lists count their rows up to this many (and as far as the page asked for); beyond it the
# count says so (`countExact: false`) rather than scanning every row the caller may see.
API_COUNT_LIMIT = env_int("API_COUNT_LIMIT", 1000)
# The sweep of object versions that no file owns (part of the hourly reconciliation) lists at
# most this many pages of this many versions per run, going on from where the last run stopped:
# 20 x 1,000 an hour covers a bucket of a million files in about two days.
STRAY_VERSION_SWEEP_PAGES = env_int("STRAY_VERSION_SWEEP_PAGES", 20)
STRAY_VERSION_SWEEP_PAGE_SIZE = env_int("STRAY_VERSION_SWEEP_PAGE_SIZE", 1000)
# Release: files tagged per task; a release of more is split into tasks any worker may take.
RELEASE_CHUNK_SIZE = env_int("RELEASE_CHUNK_SIZE", 250)
# Tagging requests each release task keeps in flight; with several worker processes releasing
# at once, the store sees processes x threads (4 x 4 matches a 16-thread client).
RELEASE_TAG_THREADS = env_int("RELEASE_TAG_THREADS", 4)

# Submission files (metadata TSV, FASTA, fileMapping; plain, gzip or zstd) are read as streams
# within these limits, each refused with 413 and its own code (docs/entries.md, "Limits"): the
# size of each file as sent, its size decompressed, the rows of one submission, one line.
SUBMISSION_MAX_FILE_BYTES = env_int("SUBMISSION_MAX_FILE_BYTES", 32 * 1024**2)
SUBMISSION_MAX_DECOMPRESSED_BYTES = env_int("SUBMISSION_MAX_DECOMPRESSED_BYTES", 48 * 1024**2)
SUBMISSION_MAX_ROWS = env_int("SUBMISSION_MAX_ROWS", 10_000)
SUBMISSION_MAX_LINE_BYTES = env_int("SUBMISSION_MAX_LINE_BYTES", 16 * 1024**2)

# --- Projects (ArtifactDB upload sessions) --------------------------------------------------
# `completed_by` is clamped to this range (ArtifactDB: 10 s to 5 days; default 1 day).
PROJECT_UPLOAD_MIN_DEADLINE = timedelta(seconds=env_int("PROJECT_UPLOAD_MIN_DEADLINE_SECONDS", 10))
PROJECT_UPLOAD_MAX_DEADLINE = timedelta(
    seconds=env_int("PROJECT_UPLOAD_MAX_DEADLINE_SECONDS", 5 * 24 * 3600)
)
PROJECT_UPLOAD_DEFAULT_DEADLINE = timedelta(
    seconds=env_int("PROJECT_UPLOAD_DEFAULT_DEADLINE_SECONDS", 24 * 3600)
)
# Purged and expired uploads lose their rows at once and their bytes after this grace period.
PROJECT_PURGE_GRACE = timedelta(seconds=env_int("PROJECT_PURGE_GRACE_SECONDS", 3600))
# Metadata files (*.json) larger than this fail the completion job.
PROJECT_METADATA_MAX_BYTES = env_int("PROJECT_METADATA_MAX_BYTES", 4 * 1024**2)
# The re-indexing job writes this many documents per transaction; a build whose last batch is
# older than the stale limit is taken to have died and may be started again.
PROJECT_INDEX_BATCH = env_int("PROJECT_INDEX_BATCH", 500)
PROJECT_INDEX_STALE_AFTER = timedelta(seconds=env_int("PROJECT_INDEX_STALE_AFTER_SECONDS", 600))
# sts-credentials mode: off where the S3 endpoint offers no STS (the API answers 501).
S3_STS_ENABLED = env_bool("S3_STS_ENABLED", True)
S3_STS_ENDPOINT_URL = os.environ.get("S3_STS_ENDPOINT_URL") or S3_ENDPOINT_URL
# The ARN(s) of seqvault's own S3 credentials, comma-separated: with them, the bucket policy
# lets nobody else change tags or ACLs (Ceph RGW: arn:aws:iam:::user/<uid>; AWS: the user's ARN
# and its account's, arn:aws:iam::<account>:root; docs/operations.md, "Only seqvault tags").
S3_OWNER_PRINCIPAL_ARN = env_list("S3_OWNER_PRINCIPAL_ARN", [])
# AWS needs a role that may write the bucket; MinIO ignores the ARN. Ceph RGW's ARNs have an
# empty account (arn:aws:iam:::role/NAME), and its role's MaxSessionDuration must cover the
# longest session (docs/operations.md, "S3 servers").
S3_STS_ROLE_ARN = env_str("S3_STS_ROLE_ARN", "arn:aws:iam::000000000000:role/seqvault-uploads")

# --- Web pages ------------------------------------------------------------------------------
# The browser's uploader (static/web/upload.js): parts sent at once over all files, files
# worked on at once, the size up to which a file goes in one PUT, and attempts per part.
WEB_UPLOAD_PARTS_IN_FLIGHT = env_int("WEB_UPLOAD_PARTS_IN_FLIGHT", 4)
WEB_UPLOAD_FILES_IN_FLIGHT = env_int("WEB_UPLOAD_FILES_IN_FLIGHT", 3)
WEB_UPLOAD_SINGLE_PUT_MAX_BYTES = env_int("WEB_UPLOAD_SINGLE_PUT_MAX_BYTES", 16 * 1024**2)
WEB_UPLOAD_MAX_ATTEMPTS = env_int("WEB_UPLOAD_MAX_ATTEMPTS", 6)

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down or hung costs a request at most ~2 x 3 s when it queues a task; the work
# is recorded first and the periodic jobs queue it again (docs/operations.md, "Faults").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": env_int("BROKER_CONNECT_TIMEOUT_SECONDS", 3),
    "socket_timeout": env_int("BROKER_SOCKET_TIMEOUT_SECONDS", 3),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("BROKER_CONNECT_TIMEOUT_SECONDS", 3)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# The queue tasks go to unless routed, follow-ups that tasks queue included.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "verify-unconfirmed-files": {
        "task": "filesharing.tasks.verify_unconfirmed_files_task",
        "schedule": timedelta(minutes=5),
    },
    "cleanup-stale-uploads": {
        "task": "filesharing.tasks.cleanup_stale_uploads_task",
        "schedule": timedelta(minutes=15),
    },
    "reconcile-public-tags": {
        "task": "submissions.tasks.reconcile_public_tags_task",
        "schedule": timedelta(hours=1),
    },
    "report-orphaned-files": {
        "task": "submissions.tasks.report_orphaned_files_task",
        "schedule": timedelta(days=1),
    },
    "reset-stale-processing": {
        "task": "submissions.tasks.reset_stale_processing_task",
        "schedule": timedelta(minutes=15),
    },
    "sweep-project-uploads": {
        "task": "projects.tasks.sweep_project_uploads_task",
        "schedule": timedelta(minutes=1),
    },
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.StrictJSONParser",
        "core.api.parsers.BoundedFormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.WriteRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "seqvault API",
    "DESCRIPTION": "Share very large raw sequencing files alongside sequence submissions.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from this site (drf-spectacular-sidecar), not a CDN, as the CSP requires.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "PATH_CONVERTER_OVERRIDES": PATH_CONVERTER_SCHEMAS,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_components",
    ],
}

# --- Rate limits (core/ratelimit.py; counted in the cache, so they hold across processes) ----
# "<count>/<second|minute|hour|day>", or "" for none. Writes: every POST/PUT/PATCH/DELETE of
# the API per token (per user for browser sessions). Sign-in: failed sign-ins per account name
# and address; failed sign-ins and invalid bearer tokens per address. Over a limit: 429 with
# Retry-After.
RATE_LIMIT_WRITES = env_str("RATE_LIMIT_WRITES", "6000/minute")
RATE_LIMIT_SIGN_IN = env_str("RATE_LIMIT_SIGN_IN", "10/minute")
RATE_LIMIT_FAILED_AUTH_PER_ADDRESS = env_str("RATE_LIMIT_FAILED_AUTH_PER_ADDRESS", "100/minute")
# Behind a proxy every caller has the proxy's address: name the header it sets (as a META key,
# e.g. HTTP_X_FORWARDED_FOR); its first address is the caller's. Only where a proxy sets it.
RATE_LIMIT_CLIENT_IP_HEADER = env_str("RATE_LIMIT_CLIENT_IP_HEADER", "")
# Part of every rate-limit counter's and outage memo's key, beside CACHE_KEY_PREFIX (the tests
# give each test its own).
CACHE_NAMESPACE = env_str("CACHE_NAMESPACE", "")

# --- OIDC (on when OIDC_RP_CLIENT_ID and OIDC_OP_TOKEN_ENDPOINT are set) --------------------
# Read by mozilla-django-oidc; every variable is described in docs/authentication.md.
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
# None, not "": the library tells "no JWKS endpoint" by `is None`.
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT") or None
# Declared in the OpenAPI document as the OIDC security scheme's openIdConnectUrl.
OIDC_OP_DISCOVERY_URL = os.environ.get("OIDC_OP_DISCOVERY_URL", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your institution")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH", False)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)  # the library's default waits forever
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_TOKEN_ENDPOINT)
if OIDC_ENABLED:
    _oidc_required = {
        "OIDC_RP_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
        "OIDC_OP_USER_ENDPOINT": OIDC_OP_USER_ENDPOINT,
    }
    if OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")):
        _oidc_required["OIDC_OP_JWKS_ENDPOINT"] = OIDC_OP_JWKS_ENDPOINT or ""
    if _oidc_missing := [name for name, value in _oidc_required.items() if not value]:
        # Fail at start-up rather than at the first sign-in.
        raise ImproperlyConfigured(
            "OIDC is on (OIDC_RP_CLIENT_ID and OIDC_OP_TOKEN_ENDPOINT are set) but "
            f"{', '.join(_oidc_missing)} {'is' if len(_oidc_missing) == 1 else 'are'} not."
        )
    AUTHENTICATION_BACKENDS.append("accounts.oidc.SubjectOIDCBackend")
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].append(  # type: ignore[attr-defined]
        "accounts.oidc.OidcBearerAuthentication"
    )
    OIDC_DRF_AUTH_BACKEND = "accounts.oidc.SubjectOIDCBackend"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
