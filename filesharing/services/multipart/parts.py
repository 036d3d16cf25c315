"""Part URLs (one or many at once) and the parts S3 holds, for resume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from core.types import Actor
from filesharing import s3
from filesharing.models import MultipartUpload
from filesharing.services.multipart.common import (
    MD5,
    SHA256,
    check_may_upload,
    check_part_numbers,
    part_size_of,
    refuse_presigned_parts,
    refuse_unless_pending,
)
from filesharing.services.multipart.complete import multipart_upload_gone

MAX_PART_URLS_PER_REQUEST = 1000


@dataclass(frozen=True)
class PartRequest:
    number: int
    sha256: str | None = None  # hex or base64; required when the upload checks SHA-256
    md5: str | None = None  # hex or base64; signed as Content-MD5 when given


@dataclass(frozen=True)
class PartUrl:
    number: int
    size: int
    request: s3.PresignedRequest


def _touch(*, upload: MultipartUpload, actor: Actor, action: str, details: dict[str, Any]) -> None:
    """Refresh last_activity (what the stale-upload cleanup looks at) with its audit row."""
    with transaction.atomic():
        touched = MultipartUpload.objects.filter(
            pk=upload.pk, status=MultipartUpload.Status.PENDING
        ).update(last_activity=timezone.now())
        if not touched:
            upload.refresh_from_db()
            refuse_unless_pending(upload)
        audit_event(actor=actor, action=action, obj=upload, details=details)


def _normalised(upload: MultipartUpload, parts: list[PartRequest]) -> list[PartRequest]:
    if not 1 <= len(parts) <= MAX_PART_URLS_PER_REQUEST:
        raise ApplicationError(
            "too_many_parts",
            f"Ask for between 1 and {MAX_PART_URLS_PER_REQUEST} part URLs at once.",
            details={"requested": len(parts)},
        )
    numbers = [part.number for part in parts]
    if len(set(numbers)) != len(numbers):
        raise ApplicationError("duplicate_part_number", "A part number is listed twice.")
    check_part_numbers(upload, numbers)
    if upload.checksum_algorithm == SHA256:
        _refuse_undigested(upload, [part.number for part in parts if not part.sha256], "sha256")
    if upload.checksum_algorithm == MD5:
        # A client written for SHA256 uploads may still send only SHA-256: S3 checks none
        # of it here, and the whole-object hash at verification decides.
        missing = [part.number for part in parts if not (part.md5 or part.sha256)]
        _refuse_undigested(upload, missing, "md5")
    return [
        PartRequest(
            part.number,
            s3.sha256_hex_from_any(part.sha256) if part.sha256 else None,
            s3.md5_hex_from_any(part.md5) if part.md5 else None,
        )
        for part in parts
    ]


def _refuse_undigested(upload: MultipartUpload, numbers: list[int], digest: str) -> None:
    if numbers:
        name = {"sha256": "SHA-256", "md5": "MD5"}[digest]
        raise ApplicationError(
            f"part_{digest}_required",
            f"Upload {upload.pk} checks every part's {name}; give it for parts {numbers[:10]}.",
            status=422,
            details={"partNumbers": numbers[:100]},
        )


def multipart_upload_part_urls(
    *, upload: MultipartUpload, actor: Actor, parts: list[PartRequest]
) -> list[PartUrl]:
    """Fresh presigned PUTs, each bound to its part's size and SHA-256. Asking again for the
    same part is how a client replaces an expired URL."""
    check_may_upload(actor=actor, file=upload.file)
    refuse_unless_pending(upload)
    refuse_presigned_parts(upload)
    parts = _normalised(upload, parts)
    s3.require_available()
    size = upload.file.declared_size
    assert size is not None  # refuse_presigned_parts
    _touch(
        upload=upload,
        actor=actor,
        action="multipart.part_urls_issued",
        details={"parts": [part.number for part in parts]},
    )
    now = timezone.now()
    return [
        PartUrl(
            number=part.number,
            size=(part_size := part_size_of(upload, part.number, size)),
            request=s3.presign_upload_part(
                key=upload.file.key,
                upload_id=upload.s3_upload_id,
                part_number=part.number,
                size=part_size,
                sha256_hex=part.sha256 if upload.checksum_algorithm == SHA256 else None,
                md5_hex=part.md5,
                lifetime=settings.MULTIPART_PART_URL_LIFETIME,
                now=now,
            ),
        )
        for part in parts
    ]


def multipart_upload_parts(*, upload: MultipartUpload, actor: Actor) -> list[s3.PartFacts]:
    """What S3 holds now, so that a resuming client sends only what is missing."""
    check_may_upload(actor=actor, file=upload.file)
    refuse_unless_pending(upload)
    try:
        parts = s3.multipart_list_parts(key=upload.file.key, upload_id=upload.s3_upload_id)
    except s3.MultipartUploadGoneError:
        raise multipart_upload_gone(upload=upload, actor=actor) from None
    _touch(
        upload=upload,
        actor=actor,
        action="multipart.parts_listed",
        details={"held": len(parts)},
    )
    return parts
