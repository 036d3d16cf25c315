"""OpenID Connect users are matched on the provider's `sub` claim, never on e-mail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import OidcIdentity
from core.audit import audit_event


class SubjectOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        subject = claims.get("sub")
        user_model = get_user_model()
        if not subject:
            return user_model.objects.none()
        return user_model.objects.filter(oidc_identity__subject=subject)

    def create_user(self, claims: dict[str, Any]) -> Any:
        user_model = get_user_model()
        base = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        username = str(base)[:140]
        suffix = 1
        while user_model.objects.filter(username=username).exists():
            suffix += 1
            username = f"{str(base)[:140]}-{suffix}"
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=claims.get("email", ""))
            OidcIdentity.objects.create(user=user, subject=claims["sub"])
            audit_event(actor=user, action="user.created", obj=user, details={"via": "oidc"})
        return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        email = claims.get("email")
        if email and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        return user
