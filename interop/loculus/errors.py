"""Errors as Loculus's clients read them: RFC 9457 problem details (`type`, `title`,
`status`, `detail`, `instance`) served as application/problem+json, as Loculus's backend
answers. seqvault's stable error code is kept in the extension member `code`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from rest_framework.response import Response

from core.api.errors import exception_handler

PROBLEM_JSON = "application/problem+json"


def _detail(error: dict[str, Any]) -> str:
    """Field errors as one sentence, since Loculus's clients show `detail` and nothing else."""
    fields = error.get("details", {}).get("fields")
    if error.get("code") != "invalid_input" or not isinstance(fields, dict):
        return str(error.get("message", ""))
    parts = []
    for field, messages in fields.items():
        text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        parts.append(f"{field}: {text}")
    return "; ".join(parts)


def loculus_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
    request = context.get("request")
    response.data = {
        "type": "about:blank",
        "title": HTTPStatus(response.status_code).phrase,
        "status": response.status_code,
        "detail": _detail(error),
        "instance": request.path if request is not None else "",
        "code": error.get("code", "error"),
    }
    response.content_type = PROBLEM_JSON
    if response.status_code in (401, 403):
        response["WWW-Authenticate"] = "Bearer"
    return response
