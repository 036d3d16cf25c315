"""Multipart uploads whose part URLs are all signed when they start, for clients that say no
size and no checksum (Loculus's request-multipart-upload and complete-multipart-upload).

Such parts carry no checksum and no size bound, so nothing but the whole object's hash can
vouch for the bytes: the verifier hashes these uploads at every size before the file is
`verified` (services/multipart/verify.py), and records that SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError, NotFoundError
from core.types import Actor
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.selectors import file_get_for_user, multipart_upload_open_for_file
from filesharing.services.multipart.common import NO_CHECKSUM, check_may_upload
from filesharing.services.multipart.complete import multipart_upload_complete
from filesharing.services.multipart.start import (
    check_pending_uploads_limit,
    multipart_abort_unused,
)
from filesharing.services.request_uploads import FileSpec, file_request_uploads
from groups.models import Group

MAX_UPFRONT_PART_URLS = s3.MULTIPART_MAX_PARTS  # per request, over all its files


@dataclass(frozen=True)
class UpfrontUpload:
    file: File
    upload: MultipartUpload
    part_urls: list[s3.PresignedRequest]


def _check_counts(*, number_files: int, number_parts: int) -> None:
    if not 1 <= number_parts <= s3.MULTIPART_MAX_PARTS:
        raise ApplicationError(
            "invalid_part_count",
            f"Number of parts must be between 1 and {s3.MULTIPART_MAX_PARTS}.",
            details={"numberParts": number_parts},
        )
    if number_files * number_parts > MAX_UPFRONT_PART_URLS:
        raise ApplicationError(
            "too_many_parts",
            f"{number_files} files of {number_parts} parts need more than "
            f"{MAX_UPFRONT_PART_URLS} part URLs; request fewer files at once.",
            details={"maximum": MAX_UPFRONT_PART_URLS},
        )


def file_request_multipart_uploads(
    *, group: Group, user: User, number_files: int, number_parts: int
) -> list[UpfrontUpload]:
    """Request `number_files` files and start a multipart upload of `number_parts` parts for
    each, every part URL signed now (valid for UPFRONT_PART_URL_LIFETIME)."""
    _check_counts(number_files=number_files, number_parts=number_parts)
    # Refused before any file is requested when the group could not open them all.
    check_pending_uploads_limit(group=group, adding=number_files)
    tickets = file_request_uploads(
        group=group, user=user, specs=[FileSpec()] * number_files, dedup=False
    )
    return [_start(file=ticket.file, actor=user, part_count=number_parts) for ticket in tickets]


def _start(*, file: File, actor: User, part_count: int) -> UpfrontUpload:
    s3_upload_id = s3.multipart_create(
        key=file.key, content_type=file.content_type, checksum_algorithm=NO_CHECKSUM
    )
    try:
        upload = _record(file=file, actor=actor, s3_upload_id=s3_upload_id, part_count=part_count)
    except Exception:
        multipart_abort_unused(key=file.key, s3_upload_id=s3_upload_id)
        raise
    now = timezone.now()
    urls = [
        s3.presign_upload_part(
            key=file.key,
            upload_id=s3_upload_id,
            part_number=number,
            size=None,
            sha256_hex=None,
            lifetime=settings.UPFRONT_PART_URL_LIFETIME,
            now=now,
        )
        for number in range(1, part_count + 1)
    ]
    return UpfrontUpload(file=file, upload=upload, part_urls=urls)


def _record(*, file: File, actor: User, s3_upload_id: str, part_count: int) -> MultipartUpload:
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=file.group_id)
        check_pending_uploads_limit(group=group)
        upload = MultipartUpload.objects.create(
            file=file,
            s3_upload_id=s3_upload_id,
            part_size=0,  # unknown: the client chooses, S3 enforces its minimum
            part_count=part_count,
            checksum_algorithm=NO_CHECKSUM,
        )
        audit_event(
            actor=actor,
            action="multipart.started",
            obj=upload,
            details={
                "fileId": str(file.pk),
                "partCount": part_count,
                "checksumAlgorithm": NO_CHECKSUM,
                "partUrlsSignedUpFront": True,
            },
        )
    return upload


def _open_upload(*, file_id: str, actor: Actor) -> MultipartUpload | None:
    """The file's pending upload if the caller may complete it; None if there is none, or the
    file is missing or hidden (the same answer, on purpose)."""
    if actor is None:
        return None
    try:
        file = file_get_for_user(file_id=file_id, user=actor)
        check_may_upload(actor=actor, file=file)
    except NotFoundError:
        return None
    return multipart_upload_open_for_file(file=file)


def multipart_uploads_complete_by_etags(
    *, actor: Actor, etags_by_file: list[tuple[str, list[str]]]
) -> list[MultipartUpload]:
    """Complete the uploads of several files from their parts' ETags, in part order (part n is
    the n-th ETag). Every file is checked before any is completed."""
    ids = [file_id for file_id, _ in etags_by_file]
    repeated = sorted({file_id for file_id in ids if ids.count(file_id) > 1})
    if repeated:
        raise ApplicationError(
            "duplicate_file_id",
            f"File IDs listed twice: {', '.join(repeated[:10])}.",
            details={"fileIds": repeated[:100]},
        )
    uploads = {file_id: _open_upload(file_id=file_id, actor=actor) for file_id in ids}
    closed = [file_id for file_id, upload in uploads.items() if upload is None]
    if closed:
        raise ApplicationError(
            "multipart_upload_not_pending",
            "The following files have already been completed or have no multipart upload "
            f"in progress: {', '.join(closed[:100])}",
            status=422,
            details={"fileIds": closed[:100]},
        )
    empty = [file_id for file_id, etags in etags_by_file if not etags]
    if empty:
        raise ApplicationError(
            "etags_required",
            f"No etags provided for file ID {empty[0]}.",
            status=422,
            details={"fileIds": empty[:100]},
        )
    completed = []
    for file_id, etags in etags_by_file:
        upload = uploads[file_id]
        assert upload is not None
        parts = {number: etag for number, etag in enumerate(etags, start=1)}
        completed.append(multipart_upload_complete(upload=upload, actor=actor, parts=parts))
    return completed
