"""From `requested` to `verified` (or `failed` / `expired`): what S3 holds decides."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from filesharing import s3
from filesharing.models import File

PENDING = (File.Status.REQUESTED, File.Status.UPLOADED)
MULTIPART_IN_FLIGHT = ("pending", "uploaded")


def refuse_unusable(file: File) -> None:
    if file.deleted_at is not None:
        raise ApplicationError("file_deleted", f"File {file.id} was deleted.", status=409)
    if file.status in (File.Status.FAILED, File.Status.EXPIRED):
        raise ApplicationError(
            f"file_{file.status}",
            f"File {file.id} is {file.status}: {file.failure_reason or 'no upload arrived'}.",
            status=409,
            details={"reason": file.failure_reason},
        )


def file_confirm(*, file: File, actor: Actor) -> File:
    """The client says its PUT is done: check the object is there, then verify it."""
    from filesharing.tasks import verify_file_task

    refuse_unusable(file)
    if file.status == File.Status.VERIFIED:
        return file
    if file.multipart_uploads.filter(status="pending").exists():
        raise ApplicationError(
            "multipart_upload_open",
            f"File {file.id} has a multipart upload in progress; complete it instead.",
            status=409,
        )
    if s3.head(key=file.key) is None:
        raise not_uploaded_error(file)
    with transaction.atomic():
        locked = file_mark_uploaded(file=file, actor=actor)
        transaction.on_commit(lambda: verify_file_task.delay(str(file.pk)))
    locked.refresh_from_db()
    return locked


def not_uploaded_error(file: File) -> ApplicationError:
    return ApplicationError(
        "file_not_uploaded",
        f"No file uploaded for file ID {file.id}.",
        status=409,
        details={"fileId": str(file.id)},
    )


def file_mark_uploaded(*, file: File, actor: Actor) -> File:
    """`requested` → `uploaded` once S3 holds the object; the caller holds the transaction."""
    locked = File.objects.select_for_update().get(pk=file.pk)
    if locked.status == File.Status.REQUESTED:
        locked.status = File.Status.UPLOADED
        locked.save(update_fields=["status"])
        audit_event(actor=actor, action="file.uploaded", obj=locked)
    return locked


def object_mismatch(file: File, facts: s3.ObjectFacts, sha256_hex: str | None) -> str | None:
    if file.declared_size is not None and facts.size != file.declared_size:
        return f"size {facts.size} differs from the declared {file.declared_size} bytes"
    if facts.size > settings.MAX_FILE_SIZE:
        return f"size {facts.size} is over the limit of {settings.MAX_FILE_SIZE} bytes"
    if file.declared_sha256 and sha256_hex and sha256_hex != file.declared_sha256:
        return f"sha256 {sha256_hex} differs from the declared {file.declared_sha256}"
    return None


def object_sha256(file: File, facts: s3.ObjectFacts) -> str | None:
    if facts.sha256_hex:
        return facts.sha256_hex
    if facts.size <= settings.VERIFY_HASH_MAX_BYTES:
        return s3.hash_object(key=file.key, version_id=facts.version_id)
    return None


def file_verify(*, file_id: uuid.UUID | str, actor: Actor = None) -> File:
    """Record what S3 holds for the file. Idempotent: a settled file is returned as it is."""
    file = File.objects.get(pk=file_id)
    if file.status not in PENDING:
        return file
    # S3 is read before the row is locked: hashing a large object must not hold a lock.
    facts, sha256_hex = file_read_object(file=file)
    return file_record_object(file_id=file_id, facts=facts, sha256_hex=sha256_hex, actor=actor)


def file_read_object(*, file: File) -> tuple[s3.ObjectFacts | None, str | None]:
    """What S3 holds for the file (hashed when S3 keeps no checksum); no database access, so
    callers may run it in threads."""
    facts = s3.head(key=file.key)
    return facts, (object_sha256(file, facts) if facts else None)


def file_record_object(
    *,
    file_id: uuid.UUID | str,
    facts: s3.ObjectFacts | None,
    sha256_hex: str | None,
    actor: Actor = None,
) -> File:
    """Settle a pending file from what `file_read_object` found; a settled file is returned."""
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file_id)
        if file.status not in PENDING:
            return file
        if file.multipart_uploads.filter(status__in=MULTIPART_IN_FLIGHT).exists():
            # Its multipart upload settles it, with the whole-file hash (services/multipart).
            return file
        if facts is not None:
            return file_settle_locked(file=file, facts=facts, sha256_hex=sha256_hex, actor=actor)
        if timezone.now() < file.upload_deadline:
            return file
        file.status = File.Status.EXPIRED
        file.failure_reason = "no object was uploaded before the deadline"
        file.save()
        audit_event(
            actor=actor, action="file.expired", obj=file, details={"reason": file.failure_reason}
        )
    return file


def file_settle_locked(
    *, file: File, facts: s3.ObjectFacts, sha256_hex: str | None, actor: Actor
) -> File:
    """Record what S3 holds for a row the caller has locked: verified, or failed and why."""
    problem = object_mismatch(file, facts, sha256_hex)
    if problem is not None:
        file.status = File.Status.FAILED
        file.failure_reason = problem
        file.size = None
        action = "file.failed"
    else:
        file.status = File.Status.VERIFIED
        file.failure_reason = ""
        file.size = facts.size
        file.sha256 = sha256_hex or ""
        file.etag = facts.etag
        file.s3_version_id = facts.version_id
        file.verified_at = timezone.now()
        action = "file.verified"
    file.save()
    audit_event(
        actor=actor,
        action=action,
        obj=file,
        details={"reason": file.failure_reason, "size": file.size, "sha256": file.sha256},
    )
    return file


def file_ids_awaiting_verification(*, limit: int = 500) -> list[str]:
    """Uploads nobody confirmed: checked on a schedule so they still settle."""
    ids = (
        File.objects.filter(status__in=PENDING, deleted_at__isnull=True)
        .exclude(multipart_uploads__status__in=MULTIPART_IN_FLIGHT)
        .order_by("upload_requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [str(pk) for pk in ids]


def file_reverify(*, file_id: uuid.UUID | str, actor: Actor) -> str:
    """Curators' check: settle a pending file now, or confirm a verified object is intact."""
    file = File.objects.get(pk=file_id)
    if file.status in PENDING:
        return file_verify(file_id=file_id, actor=actor).status
    if file.status != File.Status.VERIFIED:
        return file.status
    facts = s3.head(key=file.key, version_id=file.s3_version_id)
    intact = facts is not None and facts.size == file.size
    if intact and facts and file.sha256 and facts.sha256_hex:
        intact = facts.sha256_hex == file.sha256
    with transaction.atomic():
        audit_event(
            actor=actor,
            action="file.reverified" if intact else "file.integrity_problem",
            obj=file,
            details={"found_size": facts.size if facts else None},
        )
    return "verified" if intact else "object differs from the record"
