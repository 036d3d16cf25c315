"""The zero-setup default: SQLite under var/, the S3 emulator on loopback, tasks run inline."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "local.sqlite3")),
    }
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
