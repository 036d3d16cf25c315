"""Files of project upload sessions (projects/): reserved with the session's deadline, settled
from what S3 holds when the session completes, and removed in two phases when the session is
purged or its transient version expires (DESIGN rule 2: hidden at once, bytes removed after a
grace period, both logged). A file that anything attaches, or that was released, is never
touched here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event, audit_events_bulk
from core.bulk import bulk_insert
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.selectors import attached_q
from filesharing.services.latest import (
    files_refresh_latest,
    files_supersede,
    groups_lock,
    latest_version_numbers,
)
from filesharing.services.parallel import s3_map
from filesharing.services.request_uploads import FileSpec, group_quota_check
from filesharing.services.storage import storage_capabilities
from filesharing.services.verification import (
    MULTIPART_IN_FLIGHT,
    ObjectReading,
    file_settle_locked,
    read_version,
)
from groups.models import Group


@dataclass(frozen=True)
class ReservedFile:
    name: str
    size: int | None = None
    sha256: str | None = None  # hex


def files_reserve(
    *,
    group: Group,
    uploader: Actor,
    specs: Sequence[ReservedFile],
    deadline: datetime,
    actor: Actor,
) -> list[File]:
    """One `requested` file per spec, due by `deadline`; no URL is made here. Names are the
    caller's to check; quotas count these files as uploads in progress."""
    now = timezone.now()
    with transaction.atomic():
        # The group row serialises version numbers and quota checks, as in request-uploads.
        group = Group.objects.select_for_update().get(pk=group.pk)
        group_quota_check(
            group=group,
            specs=[FileSpec(name=s.name, size=s.size, sha256=s.sha256) for s in specs],
            now=now,
        )
        latest = latest_version_numbers(group_id=group.pk, names=[spec.name for spec in specs])
        user = uploader if uploader is not None and uploader.is_authenticated else None
        files = [
            File(
                group=group,
                uploader=user,
                name=spec.name,
                version=latest.get(spec.name, 0) + 1,
                declared_size=spec.size,
                declared_sha256=spec.sha256 or "",
                upload_deadline=deadline,
                is_latest=True,
            )
            for spec in specs
        ]
        files_supersede(group_id=group.pk, names=[spec.name for spec in specs])
        bulk_insert(files)
        audit_events_bulk(actor=actor, action="file.upload_requested", objects=files)
    return files


def files_settle_session_uploads(
    *, file_ids: Iterable[uuid.UUID | str], actor: Actor = None
) -> dict[str, File]:
    """Record the newest object of each of a session's files; answers every file by ID as it is
    afterwards. Unlike `file_verify`, a file verified earlier (say by the scheduled check) is
    recorded again when its object changed since: a session's PUT URLs may be used again until
    the session completes. Files attached anywhere are left as they are. S3 is read in
    parallel, rows are written in the caller's thread."""
    files = {str(file.pk): file for file in File.objects.filter(pk__in=list(file_ids))}
    candidates = [file for file in files.values() if not _unsettleable(file)]
    if not candidates:
        return files
    capabilities = storage_capabilities()

    def newest_object(file: File) -> ObjectReading:
        """What S3 holds now under the file's key; no facts when nothing new (no database)."""
        facts = s3.head(key=file.key)
        if facts is None or (
            file.status == File.Status.VERIFIED and facts.version_id == file.s3_version_id
        ):
            return ObjectReading(facts=None)
        return read_version(file=file, facts=facts, capabilities=capabilities)

    found = s3_map(newest_object, candidates)
    for file, reading in zip(candidates, found, strict=True):
        if reading.facts is not None:
            files[str(file.pk)] = _record(file.pk, reading, actor=actor)
    return files


def _record(file_id: uuid.UUID, reading: ObjectReading, *, actor: Actor) -> File:
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file_id)
        if _unsettleable(file):
            return file
        return file_settle_locked(file=file, reading=reading, actor=actor)


def _unsettleable(file: File) -> bool:
    return (
        file.deleted_at is not None
        or file.status in (File.Status.FAILED, File.Status.EXPIRED)
        or file.multipart_uploads.filter(status__in=MULTIPART_IN_FLIGHT).exists()
        or File.objects.filter(attached_q(), pk=file.pk).exists()
    )


def files_copy_from_staging(*, staged: dict[str, str]) -> set[str]:
    """Copy objects uploaded with temporary credentials (file ID -> staging key) to their
    files' keys, server-side, in parallel: a new object version each time, since staged objects
    may be replaced until completion. Answers the IDs of the files that had a staged object."""
    files = [file for file in File.objects.filter(pk__in=list(staged)) if not _unsettleable(file)]

    def copy(file: File) -> bool:
        source = staged[str(file.pk)]
        if s3.head(key=source) is None:
            return False
        s3.copy_object(source_key=source, dest_key=file.key)
        return True

    return {str(file.pk) for file, copied in zip(files, s3_map(copy, files), strict=True) if copied}


def files_expire_unused(
    *, file_ids: Iterable[uuid.UUID | str], reason: str, actor: Actor = None
) -> list[str]:
    """First phase of a removal: files attached to nothing and never released are expired and
    hidden at once (their open multipart uploads aborted); their bytes stay until
    `file_remove_objects`. Answers the IDs of the files expired."""
    now = timezone.now()
    file_ids = list(file_ids)
    with transaction.atomic():
        groups_lock(File.objects.filter(pk__in=file_ids).values_list("group_id", flat=True))
        files = list(
            File.objects.select_for_update()
            .filter(pk__in=file_ids, released_at__isnull=True)
            .exclude(attached_q())
            .exclude(status=File.Status.EXPIRED, deleted_at__isnull=False)
            .order_by("pk")
        )
        _abort_open_uploads(files, reason=reason, actor=actor)
        for file in files:
            file.status = File.Status.EXPIRED
            file.failure_reason = reason
            file.deleted_at = now
        File.objects.bulk_update(files, ["status", "failure_reason", "deleted_at"])
        files_refresh_latest(files=files)
        audit_events_bulk(
            actor=actor, action="file.expired", objects=files, details={"reason": reason}
        )
    return [str(file.pk) for file in files]


def _abort_open_uploads(files: list[File], *, reason: str, actor: Actor) -> None:
    open_uploads = list(
        MultipartUpload.objects.select_for_update()
        .filter(file__in=files, status=MultipartUpload.Status.PENDING)
        .select_related("file")
    )
    for upload in open_uploads:
        s3.multipart_abort(key=upload.file.key, upload_id=upload.s3_upload_id)
        upload.status = MultipartUpload.Status.CANCELLED
        upload.failure_reason = reason
        upload.save(update_fields=["status", "failure_reason"])
        audit_event(
            actor=actor, action="multipart.cancelled", obj=upload, details={"reason": reason}
        )


def file_remove_objects(*, file_id: uuid.UUID | str, actor: Actor = None) -> int:
    """Second phase: every S3 version of a file the first phase expired, provided nothing
    attached or released it since. Answers how many object versions were removed."""
    with transaction.atomic():
        file = (
            File.objects.select_for_update()
            .filter(
                pk=file_id,
                status=File.Status.EXPIRED,
                deleted_at__isnull=False,
                released_at__isnull=True,
            )
            .exclude(attached_q())
            .first()
        )
        if file is None:
            return 0
        # The row stays locked while S3 deletes, so that nothing attaches the file meanwhile.
        removed = s3.delete_object_versions(key=file.key)
        audit_event(
            actor=actor,
            action="file.objects_removed",
            obj=file,
            details={"objectVersions": removed, "reason": file.failure_reason},
        )
    return removed
