"""Reads of files for an actor: hidden and missing look the same (404)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import NotFoundError
from core.types import AnyUser
from filesharing.models import UNATTACHED_VERIFIED, File, MultipartUpload
from groups.models import Group, Membership
from groups.permissions import user_can_read_group, user_is_curator, user_is_pipeline

IN_PROGRESS = (File.Status.REQUESTED, File.Status.UPLOADED)


def _readable_groups_filter(user: AnyUser) -> Q | None:
    """None means every group (curators and the pipeline). A subquery of the user's group ids,
    not a join: a join repeats each file per membership and needs DISTINCT."""
    if user_is_curator(user) or user_is_pipeline(user):
        return None
    return Q(group_id__in=Membership.objects.filter(Q(user_id=user.pk)).values("group_id"))


def file_queryset_for_user(*, user: AnyUser, unreleased_only: bool = False) -> QuerySet[File]:
    """With `unreleased_only`, only unreleased files are wanted: a member's are then those of
    its groups alone, a condition the group indexes serve (an OR with `released_at` is not)."""
    files = File.objects.select_related("group", "uploader")
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return files.none() if unreleased_only else files.filter(released_at__isnull=False)
    readable = _readable_groups_filter(user)
    if readable is None:
        return files.filter(released_at__isnull=True) if unreleased_only else files
    if unreleased_only:
        return files.filter(readable, released_at__isnull=True)
    return files.filter(readable | Q(released_at__isnull=False))


def file_get_for_user(*, file_id: uuid.UUID | str, user: AnyUser) -> File:
    """The file, deleted or not, if the caller may see it; else NotFoundError."""
    try:
        return file_queryset_for_user(user=user).get(pk=file_id)
    except (File.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFoundError("file", file_id) from None


def files_get_for_user(*, file_ids: Sequence[uuid.UUID | str], user: AnyUser) -> dict[str, File]:
    """The files among `file_ids` that the caller may see, by ID (hidden ones are absent)."""
    files = file_queryset_for_user(user=user).filter(pk__in=list(file_ids))
    return {str(file.pk): file for file in files}


def _attached(file_ref: OuterRef) -> Exists | None:
    """Attachments are owned by the submissions app; files are attached once entries cite them."""
    from django.apps import apps

    if not apps.is_installed("submissions"):
        return None
    try:
        attachment_model = apps.get_model("submissions", "EntryFile")
    except LookupError:
        return None
    return Exists(attachment_model.objects.filter(file_id=file_ref))


def attached_q() -> Q:
    """Files that at least one sequence entry cites."""
    attached = _attached(OuterRef("pk"))
    return Q(attached) if attached is not None else Q(pk__in=[])


def orphaned_q(*, now: datetime | None = None) -> Q:
    """Verified, live, older than the retention setting, and attached to nothing (by the
    attachment count its trigger keeps, which an index on orphan candidates serves)."""
    cutoff = (now or timezone.now()) - settings.ORPHAN_RETENTION
    return UNATTACHED_VERIFIED & Q(verified_at__lt=cutoff)


_FILE_COLUMNS = tuple(field.name for field in File._meta.concrete_fields)


@dataclass(frozen=True)
class FileFilters:
    group_id: int | None = None
    status: str | None = None
    name: str | None = None
    released: bool | None = None
    orphaned: bool | None = None
    all_versions: bool = False


def file_list_for_user(*, user: AnyUser, filters: FileFilters) -> QuerySet[File]:
    """Served by the indexes on (group?, upload time, name, version) of live or latest files:
    the rows read follow the page asked for, not the size of the table."""
    # Orphaned files are attached to nothing, so never released.
    unreleased_only = filters.released is False or filters.orphaned is True
    files = file_queryset_for_user(user=user, unreleased_only=unreleased_only)
    files = files.filter(deleted_at__isnull=True)
    if filters.group_id is not None:
        files = files.filter(group_id=filters.group_id)
    if filters.status:
        files = files.filter(status=filters.status)
    if filters.name:
        files = files.filter(name=filters.name)
    if filters.released:
        files = files.filter(released_at__isnull=False)
    if filters.orphaned is not None:
        files = files.filter(orphaned_q()) if filters.orphaned else files.exclude(orphaned_q())
    if not filters.all_versions:
        files = files.filter(is_latest=True)
    # A listing shows its files' group and uploader by name: their other columns stay unread.
    files = files.only(*_FILE_COLUMNS, "group__name", "uploader__username")
    return files.order_by("-upload_requested_at", "name", "-version")


def verified_files_with_digests(*, group_id: int, digests: Collection[str]) -> list[File]:
    """The group's verified, live files whose SHA-256 is one of `digests`, oldest verified
    first: one array parameter, probed in the partial index of verified digests."""
    if not digests:
        return []
    return list(
        File.objects.raw(
            "SELECT * FROM filesharing_file WHERE sha256 = ANY(%s) AND group_id = %s"
            " AND status = 'verified' AND deleted_at IS NULL ORDER BY verified_at",
            [sorted(digests), group_id],
        )
    )


def group_storage_used(*, group: Group, now: datetime | None = None) -> int:
    """Bytes the group holds or has reserved: verified sizes (deleted too, since S3 keeps them)
    plus the declared sizes of uploads still in progress."""
    now = now or timezone.now()
    stored = Q(status=File.Status.VERIFIED)
    # An open multipart upload keeps its reservation past the file's deadline: a terabyte can
    # take longer than a day to send, and the upload is only abandoned once it goes stale.
    open_multipart = Exists(
        MultipartUpload.objects.filter(
            file_id=OuterRef("pk"),
            status__in=[MultipartUpload.Status.PENDING, MultipartUpload.Status.UPLOADED],
        )
    )
    # A deleted file that was never verified can no longer be completed: it reserves nothing.
    reserved = Q(status__in=IN_PROGRESS, deleted_at__isnull=True) & (
        Q(upload_deadline__gt=now) | Q(open_multipart)
    )
    totals = File.objects.filter(group=group).aggregate(
        stored=Coalesce(Sum("size", filter=stored), 0),
        reserved=Coalesce(Sum("declared_size", filter=reserved), 0),
    )
    return int(totals["stored"]) + int(totals["reserved"])


def multipart_upload_open_for_file(*, file: File) -> MultipartUpload | None:
    return file.multipart_uploads.filter(status=MultipartUpload.Status.PENDING).first()


def multipart_upload_get_for_user(*, upload_id: uuid.UUID | str, user: AnyUser) -> MultipartUpload:
    """An upload of a file in one of the caller's groups; else the same 404 as a missing one."""
    try:
        upload = MultipartUpload.objects.select_related("file", "file__group").get(pk=upload_id)
    except (MultipartUpload.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFoundError("multipart_upload", upload_id) from None
    if not user_can_read_group(user=user, group=upload.file.group):
        raise NotFoundError("multipart_upload", upload_id)
    return upload


def multipart_uploads_of_file(
    *, file: File, user: AnyUser, status: str | None = None
) -> QuerySet[MultipartUpload]:
    """Uploads are the group's business: others (even readers of a released file) get a 404."""
    if not user_can_read_group(user=user, group=file.group):
        raise NotFoundError("file", file.pk)
    uploads = file.multipart_uploads.order_by("-created_at")
    return uploads.filter(status=status) if status else uploads
