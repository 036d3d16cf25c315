"""Checks shared by the multipart services."""

from __future__ import annotations

from django.db import transaction

from core.audit import audit_event
from core.errors import ApplicationError, NotFoundError
from core.types import Actor
from filesharing.models import File, MultipartUpload
from groups.permissions import user_can_read_group

NO_CHECKSUM = ""  # MultipartUpload.checksum_algorithm of uploads whose parts carry no SHA-256
CHECKSUM_ALGORITHMS = ("SHA256", NO_CHECKSUM)


def check_may_upload(*, actor: Actor, file: File) -> None:
    """Members of the file's group, the pipeline and curators; others get a 404."""
    if actor is None or not user_can_read_group(user=actor, group=file.group):
        raise NotFoundError("file", file.pk)


def refuse_unless_pending(upload: MultipartUpload) -> None:
    if upload.status != MultipartUpload.Status.PENDING:
        raise ApplicationError(
            "multipart_upload_not_pending",
            f"Multipart upload {upload.pk} is {upload.status}, not pending.",
            status=409,
            details={"uploadId": str(upload.pk), "status": upload.status},
        )


def part_size_of(upload: MultipartUpload, part_number: int, total_size: int) -> int:
    """Every part is `part_size` bytes except the last, which holds the rest."""
    if part_number < upload.part_count:
        return upload.part_size
    return total_size - upload.part_size * (upload.part_count - 1)


def check_part_numbers(upload: MultipartUpload, numbers: list[int]) -> None:
    wrong = sorted({n for n in numbers if not 1 <= n <= upload.part_count})
    if wrong:
        raise ApplicationError(
            "invalid_part_number",
            f"Parts of upload {upload.pk} are numbered 1 to {upload.part_count}; "
            f"{wrong[:10]} {'is' if len(wrong) == 1 else 'are'} outside.",
            status=422,
            details={"partNumbers": wrong[:100], "partCount": upload.part_count},
        )


GONE_REASON = "the object store no longer holds the multipart upload (aborted or expired there)"


def multipart_upload_gone(*, upload: MultipartUpload, actor: Actor) -> ApplicationError:
    """S3 no longer knows a pending upload: record it `cancelled` with the reason, so that the
    next start succeeds, and answer the 409 that says so."""
    with transaction.atomic():
        locked = MultipartUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.status == MultipartUpload.Status.PENDING:
            locked.status = MultipartUpload.Status.CANCELLED
            locked.failure_reason = GONE_REASON
            locked.save(update_fields=["status", "failure_reason"])
            audit_event(
                actor=actor,
                action="multipart.cancelled",
                obj=locked,
                details={"reason": GONE_REASON},
            )
    return ApplicationError(
        "multipart_upload_gone",
        f"Multipart upload {upload.pk} is cancelled: {locked.failure_reason or GONE_REASON}. "
        "Start a new one for the file.",
        status=409,
        details={"uploadId": str(upload.pk), "status": locked.status, "reason": GONE_REASON},
    )
