"""POST /api/files/<id>/multipart_uploads: S3 upload ID, part size and part count."""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import IntegrityError, transaction

from core.audit import audit_event
from core.errors import ApplicationError
from core.types import Actor
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.services.multipart.common import (
    CHECKSUM_ALGORITHMS,
    MD5,
    SHA256,
    check_may_upload,
)
from filesharing.services.storage import storage_capabilities
from groups.models import Group

logger = logging.getLogger(__name__)
MIB = 1024**2


# How long a client refused for too many pending uploads should wait before asking again.
PENDING_UPLOADS_RETRY_AFTER_SECONDS = 60


def check_pending_uploads_limit(*, group: Group, adding: int = 1) -> None:
    """Uploads in progress are the group's open multipart uploads: each holds parts in S3 that
    nobody can see or use until it completes. At MAX_PENDING_UPLOADS_PER_GROUP, a new one waits
    (429 with Retry-After) until some complete, are cancelled or go stale. Requested files that
    have sent nothing hold nothing in S3 and are not counted (Loculus requests 1,000 at once)."""
    limit = settings.MAX_PENDING_UPLOADS_PER_GROUP
    pending = MultipartUpload.objects.filter(
        file__group=group, status=MultipartUpload.Status.PENDING
    ).count()
    if pending + adding > limit:
        raise ApplicationError(
            "too_many_pending_uploads",
            f"Group {group.name} has {pending} uploads in progress, the most it may have at "
            f"once; complete or cancel some, or try again later.",
            status=429,
            details={"pending": pending, "limit": limit},
            headers={"Retry-After": str(PENDING_UPLOADS_RETRY_AFTER_SECONDS)},
        )


def multipart_part_size(*, size: int, requested: int | None = None) -> int:
    """The server's choice: the default (16 MiB), grown to whole MiB so that no file needs more
    than 10,000 parts; a client's own choice is taken when it lies inside S3's bounds."""
    smallest = max(s3.MULTIPART_MIN_PART_SIZE, math.ceil(size / s3.MULTIPART_MAX_PARTS))
    if smallest > s3.MULTIPART_MAX_PART_SIZE:
        raise ApplicationError(
            "file_too_large",
            f"{size} bytes cannot be sent in {s3.MULTIPART_MAX_PARTS} parts.",
            status=413,
            details={"size": size},
        )
    if requested is None:
        default = max(settings.MULTIPART_DEFAULT_PART_SIZE, smallest)
        return min(math.ceil(default / MIB) * MIB, s3.MULTIPART_MAX_PART_SIZE)
    if not s3.MULTIPART_MIN_PART_SIZE <= requested <= s3.MULTIPART_MAX_PART_SIZE:
        raise ApplicationError(
            "invalid_part_size",
            f"A part holds between {s3.MULTIPART_MIN_PART_SIZE} and "
            f"{s3.MULTIPART_MAX_PART_SIZE} bytes, not {requested}.",
            status=422,
            details={
                "minimum": s3.MULTIPART_MIN_PART_SIZE,
                "maximum": s3.MULTIPART_MAX_PART_SIZE,
            },
        )
    if requested < smallest:
        raise ApplicationError(
            "part_size_too_small",
            f"Parts of {requested} bytes would need more than {s3.MULTIPART_MAX_PARTS} parts "
            f"for {size} bytes; use at least {smallest}.",
            status=422,
            details={"minimum": smallest},
        )
    return requested


def _refuse_unstartable(file: File) -> None:
    if file.deleted_at is not None:
        raise ApplicationError("file_deleted", f"File {file.id} was deleted.", status=409)
    if file.status != File.Status.REQUESTED:
        raise ApplicationError(
            f"file_{file.status}",
            f"File {file.id} is {file.status}; only a requested file takes a new upload.",
            status=409,
            details={"status": file.status, "reason": file.failure_reason},
        )
    if file.declared_size is None:
        raise ApplicationError(
            "size_required",
            f"File {file.id} declared no size; request a new upload with its size.",
            status=422,
        )


def _refuse_second_upload(file: File) -> None:
    active = file.multipart_uploads.filter(status__in=MultipartUpload.ACTIVE_STATUSES).first()
    if active is not None:
        raise ApplicationError(
            "multipart_upload_exists",
            f"File {file.id} already has a multipart upload that is {active.status}.",
            status=409,
            details={"uploadId": str(active.pk), "status": active.status},
        )


def declared_sha256(file: File, sha256: str | None) -> str:
    """The whole-file digest in hex; declaring one that differs from an earlier one is refused."""
    if not sha256:
        return file.declared_sha256
    value = s3.sha256_hex_from_any(sha256)
    if file.declared_sha256 and file.declared_sha256 != value:
        raise ApplicationError(
            "sha256_conflict",
            f"File {file.id} was declared with sha256 {file.declared_sha256}, not {value}.",
            status=422,
            details={"declared": file.declared_sha256, "given": value},
        )
    return value


def multipart_upload_create(
    *,
    file: File,
    actor: Actor,
    part_size: int | None = None,
    sha256: str | None = None,
    checksum_algorithm: str = "SHA256",
) -> MultipartUpload:
    check_may_upload(actor=actor, file=file)
    _refuse_unstartable(file)
    if checksum_algorithm not in CHECKSUM_ALGORITHMS:
        raise ApplicationError(
            "invalid_checksum_algorithm",
            f"checksumAlgorithm is SHA256, MD5 or empty, not {checksum_algorithm!r}.",
        )
    if checksum_algorithm == SHA256 and not storage_capabilities().verifies_part_sha256:
        # This S3 would accept a part of other bytes than its signed SHA-256 (Ceph RGW):
        # parts are bound by Content-MD5 instead, and the whole object is hashed.
        checksum_algorithm = MD5
    assert file.declared_size is not None
    size = multipart_part_size(size=file.declared_size, requested=part_size)
    whole_sha256 = declared_sha256(file, sha256)
    _refuse_second_upload(file)
    check_pending_uploads_limit(group=file.group)
    if s3.head(key=file.key) is not None:
        raise ApplicationError(
            "file_already_uploaded",
            f"File {file.id} already has its object; confirm it instead.",
            status=409,
        )
    s3_upload_id = s3.multipart_create(
        key=file.key,
        content_type=file.content_type,
        checksum_algorithm=SHA256 if checksum_algorithm == SHA256 else "",
    )
    try:
        return _record(
            file=file,
            actor=actor,
            s3_upload_id=s3_upload_id,
            part_size=size,
            sha256=whole_sha256,
            checksum_algorithm=checksum_algorithm,
        )
    except Exception:
        multipart_abort_unused(key=file.key, s3_upload_id=s3_upload_id)
        raise


def multipart_abort_unused(*, key: str, s3_upload_id: str) -> None:
    """Nothing refers to the S3 upload: free it now rather than leave it to the lifecycle rule."""
    try:
        s3.multipart_abort(key=key, upload_id=s3_upload_id)
    except ApplicationError:
        logger.warning("could not abort unused S3 upload %s of %s", s3_upload_id, key)


def _record(
    *,
    file: File,
    actor: Actor,
    s3_upload_id: str,
    part_size: int,
    sha256: str,
    checksum_algorithm: str,
) -> MultipartUpload:
    with transaction.atomic():
        # The group row serialises the pending-uploads count, as in request-uploads.
        group = Group.objects.select_for_update().get(pk=file.group_id)
        locked = File.objects.select_for_update().get(pk=file.pk)
        _refuse_unstartable(locked)
        _refuse_second_upload(locked)
        check_pending_uploads_limit(group=group)
        size = locked.declared_size
        assert size is not None  # _refuse_unstartable
        if sha256 and locked.declared_sha256 != sha256:
            locked.declared_sha256 = declared_sha256(locked, sha256)
            locked.save(update_fields=["declared_sha256"])
        try:
            with transaction.atomic():
                upload = MultipartUpload.objects.create(
                    file=locked,
                    s3_upload_id=s3_upload_id,
                    part_size=part_size,
                    part_count=max(1, math.ceil(size / part_size)),
                    checksum_algorithm=checksum_algorithm,
                )
        except IntegrityError:
            _refuse_second_upload(locked)
            raise
        audit_event(
            actor=actor,
            action="multipart.started",
            obj=upload,
            details={
                "fileId": str(locked.pk),
                "partSize": upload.part_size,
                "partCount": upload.part_count,
                "checksumAlgorithm": checksum_algorithm,
                "sha256": locked.declared_sha256,
            },
        )
    return upload
