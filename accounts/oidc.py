"""OpenID Connect sign-in (mozilla-django-oidc), on when the OIDC_* settings are present.

Users are matched on the provider's `sub` claim, never on e-mail: an address can change, or be
shared by two accounts at the provider, while `sub` is the provider's stable key for a person.
"""

from __future__ import annotations

from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.models import OidcIdentity
from core.audit import audit_event
from core.errors import ApplicationError

_CREATE_ATTEMPTS = 3


class SubjectOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # The library's default demands an e-mail claim; we need only the subject.
        return bool(claims.get("sub"))

    def get_userinfo(self, access_token: str, id_token: str | None, payload: Any) -> Any:
        claims = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: the userinfo `sub` must be the ID token's, or the answer
        # may belong to someone else. Bearer-token requests have no ID token (payload is None).
        if payload is not None and claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo subject differs from the ID token subject.")
        return claims

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        subject = claims.get("sub")
        user_model = get_user_model()
        if not subject:
            return user_model.objects.none()
        return user_model.objects.filter(oidc_identity__subject=subject)

    def create_user(self, claims: dict[str, Any]) -> Any:
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            try:
                return _user_create_for_subject(claims)
            except IntegrityError:
                # A parallel first sign-in of the same person won the race: use its user.
                # Otherwise the username was just taken by someone else: pick another.
                existing = self.filter_users_by_claims(claims).first()
                if existing is not None:
                    return existing
                if attempt == _CREATE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        email = claims.get("email")
        if email and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        return user


def _user_create_for_subject(claims: dict[str, Any]) -> Any:
    user_model = get_user_model()
    base = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:140]
    username = base
    suffix = 1
    while user_model.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}-{suffix}"
    with transaction.atomic():
        user = user_model.objects.create_user(username=username, email=claims.get("email", ""))
        OidcIdentity.objects.create(user=user, subject=claims["sub"])
        audit_event(actor=user, action="user.created", obj=user, details={"via": "oidc"})
    return user


class OidcBearerAuthentication(OIDCAuthentication):
    """`Authorization: Bearer <access token>` issued by the provider, checked at its userinfo
    endpoint on every request. Personal `sv_…` tokens are handled before this class runs."""

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        try:
            result = super().authenticate(request)
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status in (400, 401, 403):  # rejected without a WWW-Authenticate explanation
                raise exceptions.AuthenticationFailed(
                    "The identity provider rejected the access token."
                ) from error
            raise _provider_unavailable() from error
        except requests.RequestException as error:
            raise _provider_unavailable() from error
        if result is None:
            return None
        user, token = result
        if not user.is_active:  # the library checks this for browser sign-in only
            raise exceptions.AuthenticationFailed("This account is disabled.")
        return user, token


def _provider_unavailable() -> ApplicationError:
    return ApplicationError(
        "identity_provider_unavailable",
        "The identity provider could not check the access token; try again later.",
        status=503,
    )
