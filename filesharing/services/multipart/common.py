"""Checks shared by the multipart services."""

from __future__ import annotations

from core.errors import ApplicationError, NotFoundError
from core.types import Actor
from filesharing.models import File, MultipartUpload
from groups.permissions import user_can_read_group

NO_CHECKSUM = ""  # MultipartUpload.checksum_algorithm of uploads whose parts carry no digest
SHA256 = "SHA256"  # S3 checks each part's SHA-256 and holds their composite
MD5 = "MD5"  # each part URL signs Content-MD5 (where S3 checks no SHA-256)
CHECKSUM_ALGORITHMS = (SHA256, MD5, NO_CHECKSUM)


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


def refuse_presigned_parts(upload: MultipartUpload) -> None:
    """Uploads of files without a declared size had every part URL signed when they started
    (Loculus's request-multipart-upload): there are no part sizes to sign new URLs for."""
    if upload.file.declared_size is None:
        raise ApplicationError(
            "multipart_parts_presigned",
            f"Multipart upload {upload.pk} received all its part URLs when it started; "
            "complete it with the ETags of its parts.",
            status=409,
            details={"uploadId": str(upload.pk)},
        )
