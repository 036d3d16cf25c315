"""The zero-setup default (`make run`): production's topology on one machine.

PostgreSQL and Redis from PyPI wheels and LocalStack's S3, all on loopback with data under
`var/`, a real Celery worker and beat. `make run` writes where they listen to
`var/run/local.json`; these settings read it, so `.venv/bin/python manage.py …` works beside a
running `make run`. Variables set in the environment win over the file.
"""

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_VAR = Path(os.environ.get("SEQVAULT_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
LOCAL_SERVICES_FILE = _VAR / "run" / "local.json"

try:
    _running: dict[str, str] = json.loads(LOCAL_SERVICES_FILE.read_text())
except FileNotFoundError:
    _running = {}
for _name, _value in _running.items():
    os.environ.setdefault(_name, _value)
if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "The local default's services are not running: start them with `make run` (in another "
        "terminal), or set DATABASE_URL, REDIS_URL and S3_ENDPOINT_URL."
    )

from .base import *  # noqa: E402, F403
from .base import env_bool  # noqa: E402

DEBUG = env_bool("DJANGO_DEBUG", True)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
