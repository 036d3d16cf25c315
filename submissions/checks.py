"""`manage.py check` (and every start) reports a broken organisms configuration."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def organisms_config_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from submissions.organisms import organisms

    try:
        organisms()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Fix the file ORGANISMS_CONFIG names.", id="submissions.E001")]
    return []
