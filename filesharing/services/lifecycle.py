"""Downloads, soft delete and restore. Nothing here removes bytes from S3."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.http import content_disposition_header

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from filesharing import s3
from filesharing.models import File
from filesharing.services.latest import files_refresh_latest, groups_lock
from groups.permissions import user_is_curator, user_is_group_admin


def file_download_url(*, file: File, actor: Actor, method: str = "GET") -> s3.PresignedRequest:
    """A short-lived presigned GET (or HEAD) of the verified object version, or the public URL
    of a released file; either is recorded in the audit."""
    if file.deleted_at is not None:
        raise ApplicationError("file_deleted", f"File {file.id} was deleted.", status=409)
    if file.status != File.Status.VERIFIED:
        raise ApplicationError(
            "file_not_verified",
            f"File {file.id} is {file.status}; only verified files can be downloaded.",
            status=409,
        )
    s3.require_available()
    if file.released_at is not None:
        return _public_download_url(file=file, actor=actor)
    request = s3.presign_get(
        method=method,
        key=file.key,
        version_id=file.s3_version_id,
        content_disposition=content_disposition_header(
            as_attachment=True, filename=file.name or str(file.id)
        ),
        lifetime=settings.DOWNLOAD_URL_LIFETIME,
    )
    with transaction.atomic():
        audit_event(
            actor=actor,
            action="file.download_url_issued",
            obj=file,
            details={"expires_at": request.expires_at.isoformat()},
        )
    return request


def _public_download_url(*, file: File, actor: Actor) -> s3.PresignedRequest:
    """`released_at` is set only after the object was tagged public, so its unsigned URL works.
    The URL itself does not expire; the expiry tells clients when to ask again, as for a
    presigned one."""
    request = s3.PresignedRequest(
        url=s3.public_url(
            key=file.key, base=settings.S3_PUBLIC_URL_BASE, version_id=file.s3_version_id
        ),
        method="GET",
        headers={},
        expires_at=timezone.now() + settings.DOWNLOAD_URL_LIFETIME,
    )
    with transaction.atomic():
        audit_event(
            actor=actor,
            action="file.download_url_issued",
            obj=file,
            details={"public": True, "expires_at": request.expires_at.isoformat()},
        )
    return request


def file_soft_delete(*, file: File, actor: Actor) -> File:
    """Hide the file and refuse its URLs; the object stays in S3."""
    allowed = actor is not None and (
        (actor.is_authenticated and file.uploader_id == actor.pk)
        or user_is_group_admin(user=actor, group=file.group)
        or user_is_curator(actor)
    )
    if not allowed:
        raise ApplicationError(
            "not_allowed", "Only the uploader or a group admin may delete a file.", status=403
        )
    if file.released_at is not None:
        raise ApplicationError(
            "file_released", f"File {file.id} is released; released files stay public.", status=409
        )
    with transaction.atomic():
        groups_lock([file.group_id])
        locked = File.objects.select_for_update().get(pk=file.pk)
        if locked.deleted_at is not None:
            raise ApplicationError("file_deleted", f"File {file.id} was deleted.", status=409)
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at"])
        files_refresh_latest(files=[locked])
        locked.refresh_from_db(fields=["is_latest"])
        audit_event(actor=actor, action="file.deleted", obj=locked)
    return locked


def file_restore(*, file: File, actor: Actor) -> File:
    if not user_is_curator(actor):
        raise ApplicationError("not_curator", "Only curators may restore files.", status=403)
    with transaction.atomic():
        groups_lock([file.group_id])
        locked = File.objects.select_for_update().get(pk=file.pk)
        if locked.deleted_at is None:
            return locked
        locked.deleted_at = None
        locked.save(update_fields=["deleted_at"])
        files_refresh_latest(files=[locked])
        locked.refresh_from_db(fields=["is_latest"])
        audit_event(actor=actor, action="file.restored", obj=locked)
    return locked
