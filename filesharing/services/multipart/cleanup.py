"""The scheduled cleanup: abandoned multipart uploads are aborted, completions whose
verification was lost are queued again, and single uploads past their deadline are settled.
Verified files are never touched."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from filesharing import s3
from filesharing.models import File, MultipartUpload

BATCH = 500
# A completion queues its verification at once; one still `uploaded` after this was lost.
VERIFICATION_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class MultipartCleanupReport:
    stale_upload_ids: list[str]
    unverified_upload_ids: list[str]
    overdue_file_ids: list[str]


def multipart_upload_expire_stale(
    *, upload_id: uuid.UUID | str, now: datetime | None = None
) -> MultipartUpload:
    """Abort one upload if it is still pending with no activity for MULTIPART_STALE_AFTER."""
    now = now or timezone.now()
    cutoff = now - settings.MULTIPART_STALE_AFTER
    with transaction.atomic():
        upload = (
            MultipartUpload.objects.select_for_update().select_related("file").get(pk=upload_id)
        )
        if upload.status != MultipartUpload.Status.PENDING or upload.last_activity >= cutoff:
            return upload
        held_by_s3 = s3.multipart_abort(key=upload.file.key, upload_id=upload.s3_upload_id)
        hours = settings.MULTIPART_STALE_AFTER.total_seconds() / 3600
        upload.status = MultipartUpload.Status.CANCELLED
        upload.failure_reason = f"no activity for {hours:g} h; aborted by the cleanup"
        upload.save(update_fields=["status", "failure_reason"])
        audit_event(
            actor=None,
            action="multipart.cancelled",
            obj=upload,
            details={
                "reason": upload.failure_reason,
                "lastActivity": upload.last_activity.isoformat(),
                "abortedInStorage": held_by_s3,
            },
        )
    return upload


def multipart_uploads_cleanup(*, now: datetime | None = None) -> MultipartCleanupReport:
    """Find what the cleanup task must act on; each action is its own idempotent service."""
    now = now or timezone.now()
    stale = MultipartUpload.objects.filter(
        status=MultipartUpload.Status.PENDING,
        last_activity__lt=now - settings.MULTIPART_STALE_AFTER,
    ).order_by("last_activity")
    unverified = MultipartUpload.objects.filter(
        status=MultipartUpload.Status.UPLOADED, completed_at__lt=now - VERIFICATION_GRACE
    ).order_by("completed_at")
    overdue = (
        File.objects.filter(
            status__in=(File.Status.REQUESTED, File.Status.UPLOADED), upload_deadline__lt=now
        )
        .exclude(
            multipart_uploads__status__in=(
                MultipartUpload.Status.PENDING,
                MultipartUpload.Status.UPLOADED,
            )
        )
        .order_by("upload_deadline")
    )
    return MultipartCleanupReport(
        stale_upload_ids=[str(pk) for pk in stale.values_list("pk", flat=True)[:BATCH]],
        unverified_upload_ids=[str(pk) for pk in unverified.values_list("pk", flat=True)[:BATCH]],
        overdue_file_ids=[str(pk) for pk in overdue.values_list("pk", flat=True)[:BATCH]],
    )
