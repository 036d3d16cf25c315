"""Limits on signing in, against password guessing and token guessing: failed sign-ins per
account name and address (RATE_LIMIT_SIGN_IN), and failed sign-ins or invalid bearer tokens per
address (RATE_LIMIT_FAILED_AUTH_PER_ADDRESS). Only failures count; once a limit is reached,
every attempt is refused with 429 and Retry-After until its window ends, the right password
included."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from core.ratelimit import Rate, client_address, parse_rate, rate_limit_hit, rate_limit_reached


def _limits(request: HttpRequest, username: str | None) -> list[tuple[str, str, Rate | None]]:
    address = client_address(request)
    limits = [("failed_auth", address, parse_rate(settings.RATE_LIMIT_FAILED_AUTH_PER_ADDRESS))]
    if username is not None:
        name = username.strip().lower()
        limits.append(("sign_in", f"{address}|{name}", parse_rate(settings.RATE_LIMIT_SIGN_IN)))
    return limits


def sign_in_refused_for(request: HttpRequest, username: str | None = None) -> int | None:
    """Seconds to wait when a limit is reached; None when the attempt may go ahead."""
    waits = [
        rate_limit_reached(scope=scope, subject=subject, rate=rate)
        for scope, subject, rate in _limits(request, username)
    ]
    return max((wait for wait in waits if wait is not None), default=None)


def sign_in_failed(request: HttpRequest, username: str | None = None) -> None:
    for scope, subject, rate in _limits(request, username):
        rate_limit_hit(scope=scope, subject=subject, rate=rate)


class SignInView(LoginView):
    """Django's login page, with the failed sign-in limits (`seqvault login` signs in here)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = sign_in_refused_for(request, request.POST.get("username", ""))
        if wait is not None:
            context = self.get_context_data(form=self.get_form(), retry_after=wait)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        sign_in_failed(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)
