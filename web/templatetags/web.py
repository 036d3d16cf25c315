"""Small display helpers for the pages: sizes in binary units, digests, status badges."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.forms import BoundField
from django.http import QueryDict
from django.utils.safestring import SafeString

register = template.Library()

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


@register.filter
def filesize(value: Any) -> str:
    """1536 → "1.5 KiB"; exact bytes below 1 KiB; "—" for an unknown size."""
    if value is None or value == "":
        return "—"
    size = float(value)
    unit = 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    if unit == 0:
        return f"{int(size)} bytes"
    return f"{size:.1f} {_UNITS[unit]}"


@register.filter
def shortsha(value: Any) -> str:
    """The first 12 hex digits; the full digest goes in a title or a copy field."""
    text = str(value or "")
    return f"{text[:12]}…" if len(text) > 12 else text


@register.filter
def percent(used: Any, total: Any) -> int:
    try:
        return max(0, min(100, round(100 * int(used) / int(total))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0


@register.filter
def status_class(status: Any) -> str:
    """One CSS class per state, shared by files, uploads and entries."""
    value = str(status or "").lower()
    if value in {"verified", "accepted", "approved_for_release", "released", "active"}:
        return "ok"
    if value in {"failed", "rejected", "expired", "revoked", "deleted", "cancelled"}:
        return "bad"
    if value in {"processed"}:
        return "ready"
    return "busy"


@register.filter
def humanize_status(status: Any) -> str:
    return str(status or "").replace("_", " ").lower()


@register.simple_tag(takes_context=True)
def query(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    request = context["request"]
    params: QueryDict = request.GET.copy()
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    encoded = urlencode(sorted(params.lists()), doseq=True)
    return f"?{encoded}" if encoded else "?"


@register.filter
def described(field: BoundField) -> SafeString:
    """The widget, tied to its help text and its errors for screen readers."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    attrs: dict[str, str | bool] = {}
    if field.errors:
        ids.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return field.as_widget(attrs=attrs)
