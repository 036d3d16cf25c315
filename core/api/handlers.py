"""Django's error views for requests that fail before or outside a DRF view: under /api/ they
answer in the API's error format, elsewhere with the site's pages.

DRF views hand their exceptions to core.api.errors.exception_handler. What is left reaches
Django's handlers: its own refusals raised while reading the request (DisallowedHost from
CommonMiddleware, RequestDataTooBig or TooManyFieldsSent from a form parsed by a middleware),
URLs that resolve to nothing (path ids beyond 64 bits included), and errors in middleware.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.api.errors import refusal_error, server_error_body

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JsonResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception, **kwargs)
    refusal = refusal_error(exception)
    if refusal is None:
        return _error(400, "malformed_request", "The request cannot be read.")
    return _error(refusal.status_code, refusal.code, refusal.message, refusal.details)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception, **kwargs)
    return _error(403, "permission_denied", "You may not do this.")


def _adapter_not_found(request: HttpRequest) -> HttpResponse | None:
    """An address no view matches, under an adapter's prefix: in that protocol's error format
    (GA4GH DRS's Error; problem details for Loculus's file API)."""
    path, message = request.path_info, "Nothing is found at this address."
    if path.startswith("/ga4gh/drs/"):
        body = {"msg": message, "status_code": 404, "code": "not_found"}
        return JsonResponse(body, status=404)
    if path.startswith("/loculus/"):
        problem = {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": message,
            "instance": path,
            "code": "not_found",
        }
        return JsonResponse(problem, status=404, content_type="application/problem+json")
    return None


def page_not_found(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if (adapter := _adapter_not_found(request)) is not None:
        return adapter
    if not _is_api(request):
        return defaults.page_not_found(request, exception, **kwargs)
    return _error(404, "not_found", "Nothing is found at this address.")


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request, **kwargs)
    return JsonResponse(server_error_body(), status=500)
