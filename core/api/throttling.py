"""The API's write limit: every POST, PUT, PATCH and DELETE counts against its token (or its
user, for session callers; its address, for anonymous ones), RATE_LIMIT_WRITES per window,
across every web process (core.ratelimit). Over it: 429 `rate_limited` with Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.ratelimit import client_address, parse_rate, rate_limit_hit


def _subject(request: Request) -> str:
    token = request.auth
    token_id = getattr(token, "pk", None)
    if token_id is not None:
        return f"token:{token_id}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"address:{client_address(request)}"


class WriteRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.retry_after = rate_limit_hit(
            scope="writes", subject=_subject(request), rate=parse_rate(settings.RATE_LIMIT_WRITES)
        )
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
