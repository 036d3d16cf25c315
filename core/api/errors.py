"""Every API error has the shape {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, connection, transaction
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import ApplicationError

logger = logging.getLogger("seqvault.api")

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def error_response(
    *,
    code: str,
    message: str,
    status_code: int,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


# Django's own refusals of a request, most specific first: (type, status, code, message).
_DJANGO_REFUSALS: list[tuple[type[Exception], int, str, str]] = [
    (RequestDataTooBig, 413, "request_too_large", "The request body is larger than allowed."),
    (TooManyFieldsSent, 400, "too_many_fields", "The request has more form fields than allowed."),
    (TooManyFilesSent, 400, "too_many_files", "The request has more files than allowed."),
    (DisallowedHost, 400, "disallowed_host", "The Host header names no host served here."),
    (SuspiciousOperation, 400, "suspicious_request", "The request was refused as unsafe."),
    (BadRequest, 400, "malformed_request", "The request cannot be read."),
]


def refusal_error(exc: Exception) -> ApplicationError | None:
    """The API error for one of Django's refusals, or None for any other exception."""
    for kind, status_code, code, message in _DJANGO_REFUSALS:
        if isinstance(exc, kind):
            details = (
                {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
                if isinstance(exc, RequestDataTooBig)
                else {}
            )
            return ApplicationError(code, message, status=status_code, details=details)
    return None


def server_error_body() -> dict[str, Any]:
    """The body of a 500: a reference under which the exception being handled is logged."""
    reference = uuid.uuid4().hex
    logger.error("Unhandled error, reference %s", reference, exc_info=True)
    return {
        "error": {
            "code": "server_error",
            "message": f"Something went wrong on our side; quote reference {reference}.",
            "details": {"reference": reference},
        }
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every exception a view raises becomes an error answer; what remains unexplained is a
    500 with a logged reference. The transaction of an atomic request is rolled back."""
    set_rollback()
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if (refusal := refusal_error(exc)) is not None:
        return application_error_response(refusal)
    if isinstance(exc, DataError):
        # A value the database cannot hold (an integer beyond 64 bits, say) that no
        # serializer caught: the caller's input, not our fault. PostgreSQL has aborted the
        # transaction the statement ran in: a block that holds it must roll back, not commit.
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        return error_response(
            code="value_out_of_range",
            message="A value in the request is out of the range the service stores.",
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    response = _drf_error_response(exc, context)
    if response is None:
        return Response(server_error_body(), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return response


def application_error_response(exc: ApplicationError) -> Response:
    return error_response(
        code=exc.code,
        message=exc.message,
        status_code=exc.status_code,
        details=exc.details,
        headers=exc.headers,
    )


def _drf_error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            code="invalid_input",
            message="The request is not valid; see details for each field.",
            status_code=status.HTTP_400_BAD_REQUEST,
            details={"fields": exc.detail},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), "error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    response.data = {"error": {"code": code, "message": detail, "details": {}}}
    return response
