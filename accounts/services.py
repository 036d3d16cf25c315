from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken
from core.audit import Actor, audit_event
from core.errors import ApplicationError

TOKEN_PREFIX = "sv_"  # noqa: S105 - a marker, not a secret


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def token_create(
    *,
    user: User,
    name: str = "",
    lifetime: timedelta | None = None,
    never_expires: bool = False,
    parent: ApiToken | None = None,
) -> IssuedToken:
    """A new token for `user`. Made with another token (`parent`), it expires no later than
    that one and is revoked with it, so a token can never extend its own reach."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at: datetime | None = None
    if not never_expires:
        expires_at = timezone.now() + (lifetime or settings.API_TOKEN_DEFAULT_LIFETIME)
    with transaction.atomic():
        if parent is not None:
            parent = ApiToken.objects.select_for_update().get(pk=parent.pk)
            if not parent.is_active:
                raise ApplicationError(
                    "token_revoked", "The token this request is made with is no longer valid."
                )
            if parent.expires_at is not None and (
                expires_at is None or expires_at > parent.expires_at
            ):
                expires_at = parent.expires_at
        token = ApiToken.objects.create(
            user=user,
            name=name,
            token_hash=token_hash(raw),
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            expires_at=expires_at,
            parent=parent,
        )
        audit_event(
            actor=user,
            action="token.created",
            obj=token,
            details={"name": name, "parent": parent.pk if parent else None},
        )
    return IssuedToken(token=token, raw=raw)


def token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    """Revoke the token and every token made with it (and with those, and so on)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise ApplicationError("token_revoked", "This token is already revoked.", status=409)
        now = timezone.now()
        descendants: list[int] = []
        generation = [token.pk]
        while generation:
            generation = list(
                ApiToken.objects.filter(parent_id__in=generation).values_list("pk", flat=True)
            )
            descendants += generation
        ApiToken.objects.filter(pk__in=descendants, revoked_at__isnull=True).update(revoked_at=now)
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit_event(actor=actor, action="token.revoked", obj=token, details={"with": descendants})
    return token


def token_touch(*, token: ApiToken) -> None:
    """Record use at most once a minute, so authentication does not write on every request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def user_get_or_create(
    *, username: str, actor: Actor = None, is_staff: bool = False
) -> tuple[User, bool]:
    user_model = get_user_model()
    with transaction.atomic():
        user, created = user_model.objects.get_or_create(username=username)
        changed = []
        if created:
            user.set_unusable_password()
            changed.append("password")
        if is_staff and not user.is_staff:
            user.is_staff = True
            changed.append("is_staff")
        if changed:
            user.save()
            audit_event(
                actor=actor,
                action="user.created" if created else "user.updated",
                obj=user,
                details={"is_staff": user.is_staff},
            )
    return user, created
