"""Audit rows: called by services inside the transaction of the change they record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from core.bulk import bulk_insert
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
) -> list[AuditEvent]:
    user = _actor_or_none(actor)
    actor_id = user.pk if user is not None else None  # by id: no related-object work per row
    rows = [
        AuditEvent(
            actor_id=actor_id,
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            details=details or {},
        )
        for obj in objects
    ]
    bulk_insert(rows)
    return rows
