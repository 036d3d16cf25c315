"""From `requested` to `verified` (or `failed` / `expired`): what S3 holds decides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from core.queueing import enqueue_on_commit
from filesharing import s3
from filesharing.models import File, StorageCapabilities
from filesharing.services.storage import storage_capabilities

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
        enqueue_on_commit(
            verify_file_task, str(file.pk), recovered_by="verify_unconfirmed_files_task"
        )
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


@dataclass(frozen=True)
class ObjectReading:
    """What S3 holds under a file's key: the current version's facts and digests, and the tags
    found on it (removed before verification: only a release tags an object)."""

    facts: s3.ObjectFacts | None
    sha256: str | None = None
    md5: str | None = None
    removed_tags: dict[str, str] = field(default_factory=dict)


def object_mismatch(file: File, reading: ObjectReading) -> str | None:
    facts = reading.facts
    assert facts is not None
    if file.declared_size is not None and facts.size != file.declared_size:
        return f"size {facts.size} differs from the declared {file.declared_size} bytes"
    if facts.size > settings.MAX_FILE_SIZE:
        return f"size {facts.size} is over the limit of {settings.MAX_FILE_SIZE} bytes"
    if file.declared_sha256 and reading.sha256 and reading.sha256 != file.declared_sha256:
        return f"sha256 {reading.sha256} differs from the declared {file.declared_sha256}"
    if file.declared_md5 and reading.md5 and reading.md5 != file.declared_md5:
        return f"md5 {reading.md5} differs from the declared {file.declared_md5}"
    return None


def object_digests(
    file: File, facts: s3.ObjectFacts, capabilities: StorageCapabilities
) -> tuple[str | None, str | None]:
    """(sha256, md5) of the object version. Where S3 checked the SHA-256 it holds, that and
    S3's MD5 (the ETag of a single PUT) are taken; otherwise seqvault hashes the bytes: always
    where S3 checks no SHA-256, and for a file whose upload bound neither a size nor a digest
    (Loculus's request-upload: nothing else ever checked its bytes), up to
    VERIFY_HASH_MAX_BYTES elsewhere."""
    md5_by_s3 = s3.md5_from_etag(facts.etag)
    if facts.sha256_hex and capabilities.verifies_sha256 and md5_by_s3:
        return facts.sha256_hex, md5_by_s3
    unbound = file.declared_size is None and not file.declared_sha256
    must_hash = unbound or capabilities.integrity_path == StorageCapabilities.IntegrityPath.MD5
    if must_hash or facts.size <= settings.VERIFY_HASH_MAX_BYTES:
        digests = s3.hash_object_digests(key=file.key, size=facts.size, version_id=facts.version_id)
        return digests.sha256_hex, digests.md5_hex
    return facts.sha256_hex, md5_by_s3


def file_verify(*, file_id: uuid.UUID | str, actor: Actor = None) -> File:
    """Record what S3 holds for the file. Idempotent: a settled file is returned as it is."""
    file = File.objects.get(pk=file_id)
    if file.status not in PENDING:
        return file
    # S3 is read before the row is locked: hashing a large object must not hold a lock.
    reading = file_read_object(file=file, capabilities=storage_capabilities())
    return file_record_object(file_id=file_id, reading=reading, actor=actor)


def file_read_object(*, file: File, capabilities: StorageCapabilities) -> ObjectReading:
    """What S3 holds for the file (hashed where S3 checked no checksum); no database access,
    so callers may run it in threads."""
    facts = s3.head(key=file.key)
    if facts is None:
        return ObjectReading(facts=None)
    return read_version(file=file, facts=facts, capabilities=capabilities)


def read_version(
    *, file: File, facts: s3.ObjectFacts, capabilities: StorageCapabilities
) -> ObjectReading:
    """Digests of one version, after removing any tag an uploader put on it (a store that
    honours unsigned x-amz-tagging would otherwise serve it publicly until its release)."""
    untagged = capabilities.reports_tag_count and not facts.tag_count
    tags = {} if untagged else s3.object_tags(key=file.key, version_id=facts.version_id)
    if tags:
        s3.set_object_tags(key=file.key, tags={}, version_id=facts.version_id)
    sha256, md5 = object_digests(file, facts, capabilities)
    return ObjectReading(facts=facts, sha256=sha256, md5=md5, removed_tags=tags)


def file_record_object(
    *,
    file_id: uuid.UUID | str,
    reading: ObjectReading,
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
        if reading.facts is not None:
            return file_settle_locked(file=file, reading=reading, actor=actor)
        if timezone.now() < file.upload_deadline:
            return file
        file.status = File.Status.EXPIRED
        file.failure_reason = "no object was uploaded before the deadline"
        file.save()
        audit_event(
            actor=actor, action="file.expired", obj=file, details={"reason": file.failure_reason}
        )
    return file


def file_settle_locked(*, file: File, reading: ObjectReading, actor: Actor) -> File:
    """Record what S3 holds for a row the caller has locked: verified, or failed and why."""
    facts = reading.facts
    assert facts is not None
    problem = object_mismatch(file, reading)
    if problem is not None:
        file.status = File.Status.FAILED
        file.failure_reason = problem
        file.size = None
        action = "file.failed"
    else:
        file.status = File.Status.VERIFIED
        file.failure_reason = ""
        file.size = facts.size
        file.sha256 = reading.sha256 or ""
        file.md5 = reading.md5 or ""
        file.etag = facts.etag
        file.s3_version_id = facts.version_id
        file.verified_at = timezone.now()
        action = "file.verified"
    file.save()
    if reading.removed_tags:
        audit_event(
            actor=actor,
            action="file.foreign_tags_removed",
            obj=file,
            details={"tags": reading.removed_tags, "versionId": facts.version_id},
        )
    audit_event(
        actor=actor,
        action=action,
        obj=file,
        details={
            "reason": file.failure_reason,
            "size": file.size,
            "sha256": file.sha256,
            "md5": file.md5,
        },
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
