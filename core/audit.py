"""Audit rows: called by services inside the transaction of the change they record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

from core.bulk import insert_rows
from core.models import AuditEvent
from core.types import Actor

__all__ = ["Actor", "audit_event", "audit_events_bulk"]


def _actor_or_none(actor: Actor) -> User | None:
    if actor is None or not actor.is_authenticated:
        return None
    return actor


def audit_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=_actor_or_none(actor),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details or {},
    )


def audit_events_bulk(
    *,
    actor: Actor,
    action: str,
    objects: Iterable[models.Model],
    details: dict[str, Any] | None = None,
) -> int:
    """One row per object, written by COPY without model instances; how many were written."""
    user = _actor_or_none(actor)
    actor_id = user.pk if user is not None else None
    now = timezone.now()
    body = details or {}
    return insert_rows(
        AuditEvent,
        ["actor_id", "action", "object_type", "object_id", "details", "created_at"],
        ((actor_id, action, obj._meta.label_lower, str(obj.pk), body, now) for obj in objects),
    )
