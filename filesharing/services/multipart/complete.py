"""PATCH /api/multipart_uploads/<id>/: completion against what S3 holds, or cancellation."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from core.queueing import enqueue_on_commit
from core.types import Actor
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.services.multipart.common import (
    SHA256,
    check_may_upload,
    check_part_numbers,
    part_size_of,
    refuse_unless_pending,
)
from filesharing.services.multipart.start import declared_sha256

LISTED_IN_DETAILS = 100  # error details name at most this many parts


def _check_against_s3(
    *, upload: MultipartUpload, etags: dict[int, str], held: list[s3.PartFacts]
) -> None:
    """The client's part map must describe exactly the parts S3 holds, in ETag and, when the
    file declared its size, in size (else the whole-object hash verifies the bytes)."""
    size = upload.file.declared_size
    by_number = {part.number: part for part in held}
    expected = range(1, upload.part_count + 1)
    missing = [n for n in expected if n not in by_number]
    if missing:
        raise ApplicationError(
            "multipart_parts_missing",
            f"The object store holds {upload.part_count - len(missing)} of "
            f"{upload.part_count} parts; missing {missing[:10]}.",
            status=409,
            details={"missing": missing[:LISTED_IN_DETAILS], "missingCount": len(missing)},
        )
    unlisted = [n for n in expected if n not in etags]
    if unlisted:
        raise ApplicationError(
            "multipart_parts_incomplete",
            f"The part map lacks parts {unlisted[:10]}; list every part with its ETag.",
            status=422,
            details={"missing": unlisted[:LISTED_IN_DETAILS], "missingCount": len(unlisted)},
        )
    differing = [
        {"partNumber": n, "given": etags[n], "held": by_number[n].etag}
        for n in expected
        if etags[n] != by_number[n].etag
    ]
    if differing:
        raise ApplicationError(
            "multipart_etag_mismatch",
            f"ETags of {len(differing)} part(s) differ from what the object store holds "
            f"(first: part {differing[0]['partNumber']}).",
            status=422,
            details={"parts": differing[:LISTED_IN_DETAILS]},
        )
    if size is None:
        return
    wrong_size = [
        {"partNumber": n, "size": by_number[n].size, "expected": part_size_of(upload, n, size)}
        for n in expected
        if by_number[n].size != part_size_of(upload, n, size)
    ]
    if wrong_size:
        raise ApplicationError(
            "multipart_part_size_mismatch",
            f"{len(wrong_size)} part(s) have another size than the upload's parts.",
            status=422,
            details={"parts": wrong_size[:LISTED_IN_DETAILS]},
        )


def _etags(upload: MultipartUpload, parts: dict[int, str]) -> dict[int, str]:
    check_part_numbers(upload, list(parts))
    return {int(number): etag.strip().strip('"') for number, etag in parts.items()}


def multipart_upload_complete(
    *,
    upload: MultipartUpload,
    actor: Actor,
    parts: dict[int, str],
    sha256: str | None = None,
) -> MultipartUpload:
    """List the parts in S3, check them against the client's map, assemble the object, then
    queue the verification that settles the upload (`accepted` or `rejected`). An upload that
    S3 no longer holds is cancelled with the reason (409 `multipart_upload_gone`)."""
    check_may_upload(actor=actor, file=upload.file)
    refuse_unless_pending(upload)
    etags = _etags(upload, parts)
    try:
        return _complete_locked(upload=upload, actor=actor, etags=etags, sha256=sha256)
    except s3.MultipartUploadGoneError:
        raise multipart_upload_gone(upload=upload, actor=actor) from None


def _complete_locked(
    *, upload: MultipartUpload, actor: Actor, etags: dict[int, str], sha256: str | None
) -> MultipartUpload:
    from filesharing.tasks import verify_multipart_upload_task

    # The row stays locked while S3 assembles the object, so that a concurrent completion or
    # cancellation waits and then finds the upload settled.
    with transaction.atomic():
        upload = MultipartUpload.objects.select_for_update().get(pk=upload.pk)
        upload.file = file = File.objects.select_for_update().get(pk=upload.file_id)
        refuse_unless_pending(upload)
        whole_sha256 = declared_sha256(file, sha256)
        completed, problem = _assemble(upload=upload, etags=etags)
        now = timezone.now()
        upload.status = (
            MultipartUpload.Status.REJECTED if problem else MultipartUpload.Status.UPLOADED
        )
        upload.failure_reason = problem or ""
        upload.completed_at = upload.last_activity = now
        upload.save(update_fields=["status", "failure_reason", "completed_at", "last_activity"])
        details: dict[str, Any] = {"sha256": whole_sha256, "reason": upload.failure_reason}
        if completed is not None:
            details |= {
                "etag": completed.etag,
                "versionId": completed.version_id,
                "checksumSha256": completed.checksum_sha256,
            }
        audit_event(actor=actor, action=f"multipart.{upload.status}", obj=upload, details=details)
        file.declared_sha256 = whole_sha256
        if problem:
            file.status, file.failure_reason = File.Status.FAILED, problem
            audit_event(actor=actor, action="file.failed", obj=file, details={"reason": problem})
        elif file.status == File.Status.REQUESTED:
            file.status = File.Status.UPLOADED
            audit_event(actor=actor, action="file.uploaded", obj=file, details={"multipart": True})
        file.save(update_fields=["declared_sha256", "status", "failure_reason"])
        if not problem:
            enqueue_on_commit(
                verify_multipart_upload_task,
                str(upload.pk),
                recovered_by="cleanup_stale_uploads_task",
            )
    return upload


def _assemble(
    *, upload: MultipartUpload, etags: dict[int, str]
) -> tuple[s3.CompletedUpload | None, str | None]:
    """Complete the upload in S3; returns what S3 answered and a problem found, if any."""
    key = upload.file.key
    try:
        held = s3.multipart_list_parts(key=key, upload_id=upload.s3_upload_id)
    except s3.MultipartUploadGoneError:
        # An earlier completion assembled the object but its answer was lost (a crash between
        # S3 and our commit): the object is there, and the verifier judges it.
        if s3.head(key=key) is None:
            raise
        return None, None
    _check_against_s3(upload=upload, etags=etags, held=held)
    completed = s3.multipart_complete(key=key, upload_id=upload.s3_upload_id, parts=held)
    if upload.checksum_algorithm != SHA256:
        return completed, None
    digests = [part.sha256_hex or "" for part in held]
    if all(digests) and completed.checksum_sha256 == s3.composite_sha256(digests):
        return completed, None
    return completed, (
        f"the object store assembled an object whose composite SHA-256 "
        f"({completed.checksum_sha256 or 'none'}) is not the one of its checked parts"
    )


def multipart_upload_cancel(
    *, upload: MultipartUpload, actor: Actor, reason: str = "cancelled by the client"
) -> MultipartUpload:
    """Abort the S3 upload (its parts are freed) and record `cancelled`. The file stays
    requested, so a new upload may start. Cancelling twice is harmless."""
    check_may_upload(actor=actor, file=upload.file)
    return _cancel(upload_id=str(upload.pk), actor=actor, reason=reason)


def _cancel(*, upload_id: str, actor: Actor, reason: str) -> MultipartUpload:
    with transaction.atomic():
        upload = (
            MultipartUpload.objects.select_for_update().select_related("file").get(pk=upload_id)
        )
        if upload.status == MultipartUpload.Status.CANCELLED:
            return upload
        refuse_unless_pending(upload)
        held_by_s3 = s3.multipart_abort(key=upload.file.key, upload_id=upload.s3_upload_id)
        upload.status = MultipartUpload.Status.CANCELLED
        upload.failure_reason = reason
        upload.save(update_fields=["status", "failure_reason"])
        audit_event(
            actor=actor,
            action="multipart.cancelled",
            obj=upload,
            details={"reason": reason, "abortedInStorage": held_by_s3},
        )
    return upload


GONE_REASON = "the object store no longer holds the multipart upload (aborted or expired there)"


def multipart_upload_gone(*, upload: MultipartUpload, actor: Actor) -> ApplicationError:
    """S3 no longer knows a pending upload: record it `cancelled` with the reason, so that the
    next start succeeds, and answer the 409 that says so."""
    cancelled = _cancel(upload_id=str(upload.pk), actor=actor, reason=GONE_REASON)
    return ApplicationError(
        "multipart_upload_gone",
        f"Multipart upload {upload.pk} is cancelled: {cancelled.failure_reason}. "
        "Start a new one for the file.",
        status=409,
        details={
            "uploadId": str(upload.pk),
            "status": cancelled.status,
            "reason": cancelled.failure_reason,
        },
    )
