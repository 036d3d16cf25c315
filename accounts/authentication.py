from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken
from accounts.services import TOKEN_PREFIX, token_hash, token_touch
from accounts.sign_in import sign_in_failed, sign_in_refused_for
from groups.pipeline import pipeline_permission_annotations, remember_pipeline


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sv_…` personal tokens; other bearer tokens are left to OIDC."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        raw = header[1].decode("latin-1")
        if not raw.startswith(TOKEN_PREFIX):
            return None
        wait = sign_in_refused_for(request)
        if wait is not None:
            raise exceptions.Throttled(wait, "Too many invalid tokens from this address.")
        token = (
            ApiToken.objects.select_related("user")
            .annotate(**pipeline_permission_annotations("user_id"))
            .filter(token_hash=token_hash(raw))
            .first()
        )
        if token is None or not token.is_active or not token.user.is_active:
            sign_in_failed(request)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        remember_pipeline(token.user, token)
        token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
