"""Files whose bytes are gone from S3 stop claiming them (after a storage loss or restore)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import transaction

from core.audit import Actor, audit_event
from filesharing import s3
from filesharing.models import File

_CHUNK = 2000


@dataclass
class MissingObjectsReport:
    checked: int = 0
    marked: list[uuid.UUID] = field(default_factory=list)


def files_mark_missing_objects(*, actor: Actor = None) -> MissingObjectsReport:
    """Every verified file whose recorded object version S3 no longer holds becomes `failed`,
    with the reason and an audit row; one listing of the bucket, then the rows in chunks."""
    stored = s3.stored_versions(prefix="files/")
    report = MissingObjectsReport()
    after: uuid.UUID | None = None
    while True:
        chunk = File.objects.filter(status=File.Status.VERIFIED).order_by("pk")
        if after is not None:
            chunk = chunk.filter(pk__gt=after)
        rows = list(chunk.values_list("pk", "s3_version_id")[:_CHUNK])
        if not rows:
            return report
        after = rows[-1][0]
        report.checked += len(rows)
        missing = [pk for pk, version in rows if (f"files/{pk}", version or "null") not in stored]
        if missing:
            report.marked.extend(_mark_missing(file_ids=missing, actor=actor))


def _mark_missing(*, file_ids: list[uuid.UUID], actor: Actor) -> list[uuid.UUID]:
    marked = []
    with transaction.atomic():
        for file in File.objects.select_for_update().filter(
            pk__in=file_ids, status=File.Status.VERIFIED
        ):
            version = file.s3_version_id or "null"
            file.status = File.Status.FAILED
            file.failure_reason = f"its object (version {version}) is missing from storage"
            file.size = None
            file.save(update_fields=["status", "failure_reason", "size"])
            audit_event(
                actor=actor,
                action="file.object_missing",
                obj=file,
                details={"reason": file.failure_reason, "version_id": version},
            )
            marked.append(file.pk)
    return marked
