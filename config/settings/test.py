"""Tests: PostgreSQL, Redis and the S3 emulator, as in production; tasks inline unless a test
starts a real worker."""

from .base import *  # noqa: F403
from .base import STORAGES, env_bool

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
ALLOWED_HOSTS = ["*"]
# Servers started by tests (gunicorn) serve static files from the source tree, uncollected.
WHITENOISE_USE_FINDERS = True
