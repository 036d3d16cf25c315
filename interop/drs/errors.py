"""DRS errors: `{"msg", "status_code"}` (DRS 1.2's Error), with seqvault's code beside them."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from core.api.errors import exception_handler


def drs_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
    response.data = {
        "msg": error.get("message", ""),
        "status_code": response.status_code,
        "code": error.get("code", "error"),
    }
    if response.status_code == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response
