"""ArtifactDB's internal pre-signed URLs: an `X-ADB-Credential` query parameter signed with
the secret key (django.core.signing), each kind with its own salt so that one kind never
passes for another.

- promotion: lets a `creator` use the `uploader` endpoint once, for the project version just
  provisioned for them (bound to project, version, user and a nonce stored when used);
- session actions: the completion and abort URLs of one upload session;
- links: the PUT that creates one link of one session.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from projects.models import UploadPromotion

PARAMETER = "X-ADB-Credential"
_PROMOTION_SALT = "projects.upload-promotion"
_SESSION_SALT = "projects.session-action"
_LINK_SALT = "projects.link"
# The promoted request follows the provisioning within the same request.
PROMOTION_LIFETIME = timedelta(minutes=2)


def _refused(message: str) -> ApplicationError:
    return ApplicationError("invalid_credential", message, status=403)


def _loads(token: str, *, salt: str, max_age: timedelta | None = None) -> dict[str, Any]:
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise _refused("This signed URL has expired.") from None
    except signing.BadSignature:
        raise _refused("This signed URL is not valid here.") from None
    if not isinstance(value, dict):
        raise _refused("This signed URL is not valid here.")
    return value


# --- promotion ------------------------------------------------------------------------------


def promotion_create(*, accession: str, version: int, user: User) -> str:
    nonce = secrets.token_urlsafe(24)
    UploadPromotion.objects.create(nonce=nonce, accession=accession, version=version, user=user)
    return signing.dumps(
        {"p": accession, "v": version, "u": user.pk, "n": nonce}, salt=_PROMOTION_SALT
    )


def promotion_redeem(*, token: str, accession: str, version: int, user: User) -> None:
    """Accept the promotion for exactly this project version, this user, once."""
    value = _loads(token, salt=_PROMOTION_SALT, max_age=PROMOTION_LIFETIME)
    if value.get("p") != accession or value.get("v") != version or value.get("u") != user.pk:
        raise _refused("This signed upload URL was made for another project version or user.")
    with transaction.atomic():
        promotion = UploadPromotion.objects.select_for_update().filter(nonce=value.get("n")).first()
        if promotion is None or promotion.used_at is not None:
            raise _refused("This signed upload URL was already used.")
        promotion.used_at = timezone.now()
        promotion.save(update_fields=["used_at"])


# --- session actions and links ----------------------------------------------------------------


def session_action_sign(*, session_id: uuid.UUID, action: str) -> str:
    return signing.dumps({"s": str(session_id), "a": action}, salt=_SESSION_SALT)


def session_action_verify(*, token: str, session_id: uuid.UUID, action: str) -> None:
    value = _loads(token, salt=_SESSION_SALT)
    if value.get("s") != str(session_id) or value.get("a") != action:
        raise _refused(f"This signed URL does not {action} this upload.")


@dataclass(frozen=True)
class LinkGrant:
    session_id: str
    path: str


def link_sign(*, session_id: uuid.UUID, path: str) -> str:
    return signing.dumps({"s": str(session_id), "f": path}, salt=_LINK_SALT)


def link_verify(*, token: str) -> LinkGrant:
    value = _loads(token, salt=_LINK_SALT)
    return LinkGrant(session_id=str(value.get("s", "")), path=str(value.get("f", "")))
