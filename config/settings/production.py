"""Production: everything from the environment; refuses to start when it would be unsafe.

HTTPS is assumed: secure cookies, HSTS and the redirect to HTTPS are on unless a variable turns
them off (for a trial over plain HTTP). SECURE_PROXY_SSL_HEADER is trusted only when
DJANGO_PROXY_SSL_HEADER names the header that the proxy in front sets (and strips from clients).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_int, env_str

# Values shipped in this repository: anyone could forge sessions and signed URLs with them.
_PLACEHOLDER_SECRET_KEYS = {"insecure-local-key-change-me", "change-me-to-a-long-random-string"}
_MIN_SECRET_KEY_LENGTH = 50

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if (
    SECRET_KEY in _PLACEHOLDER_SECRET_KEYS
    or "change-me" in SECRET_KEY
    or len(SECRET_KEY) < _MIN_SECRET_KEY_LENGTH
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        f"Set DJANGO_SECRET_KEY to a random value of at least {_MIN_SECRET_KEY_LENGTH} "
        "characters (not the placeholder of .env.example), e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )

DEBUG = False
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
# Health probes of the orchestrator speak plain HTTP inside its network.
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS in browsers for good: the operator's call.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

_proxy_header = env_str("DJANGO_PROXY_SSL_HEADER", "")
if _proxy_header:
    # e.g. "X-Forwarded-Proto": the proxy sets it to "https" for HTTPS requests.
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_header.strip().upper().replace("-", "_"),
        env_str("DJANGO_PROXY_SSL_VALUE", "https"),
    )

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "seqvault@localhost")
