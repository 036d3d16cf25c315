"""Publication of files: the `public=true` tag that the bucket policy honours, then `released_at`.

The API decides visibility from `released_at`, never from tags; the tag only lets S3 serve the
public URL. The tag is set first, so a file the database calls released is always readable at
its public URL. A crash in between leaves a tagged file not yet released, which
reconciliation completes. Which files are due for publication is the caller's business (the
submissions app: outputs of released entries).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import Actor, audit_event, audit_events_bulk
from core.errors import ApplicationError, StorageUnavailableError
from filesharing import s3
from filesharing.models import File
from filesharing.services.parallel import s3_map
from filesharing.services.stray_versions import StraySweepReport, files_sweep_stray_versions

PUBLIC_KEY, PUBLIC_VALUE = s3.PUBLIC_TAG
# Statuses whose object may exist in S3 and so may carry a tag.
_WITH_OBJECT = (File.Status.UPLOADED, File.Status.VERIFIED, File.Status.FAILED)
_CHUNK = 500
logger = logging.getLogger(__name__)


def _is_public(tags: dict[str, str]) -> bool:
    return tags.get(PUBLIC_KEY) == PUBLIC_VALUE


def _tag_public(file: File) -> None:
    """One PUT of the tag set: seqvault sets no other tag on its objects, so none is lost."""
    s3.set_object_tags(key=file.key, tags={PUBLIC_KEY: PUBLIC_VALUE}, version_id=file.s3_version_id)


def _untag_public(file: File) -> None:
    tags = s3.object_tags(key=file.key, version_id=file.s3_version_id)
    tags.pop(PUBLIC_KEY, None)
    s3.set_object_tags(key=file.key, tags=tags, version_id=file.s3_version_id)


def file_publish(
    *, file_id: uuid.UUID | str, actor: Actor = None, action: str = "file.released"
) -> File:
    """Tag the object public, then record `released_at`. Safe to run any number of times."""
    file = File.objects.get(pk=file_id)
    if file.deleted_at is not None:
        raise ApplicationError("file_deleted", f"File {file.id} was deleted.", status=409)
    if file.status != File.Status.VERIFIED:
        raise ApplicationError(
            "file_not_verified", f"File {file.id} is {file.status}; it cannot be published."
        )
    files_publish(file_ids=[file.pk], actor=actor, action=action)
    return File.objects.get(pk=file.pk)


def files_publish(
    *, file_ids: Iterable[uuid.UUID | str], actor: Actor = None, action: str = "file.released"
) -> list[str]:
    """Publish a chunk of files: every object tagged by its own PUT, many at once, then
    `released_at` and the audit rows written in bulk in one transaction. Verified, live files
    only; those already released are left alone. Answers the IDs released now.

    Safe to run again, and to die anywhere: a file tagged but not yet released is finished by
    reconciliation. A refused tag (say the object is gone) leaves that file unreleased and
    logged; an unreachable store raises StorageUnavailableError, so the chunk is retried.
    """
    due = list(
        File.objects.filter(
            pk__in=list(file_ids),
            status=File.Status.VERIFIED,
            deleted_at__isnull=True,
            released_at__isnull=True,
        ).only("id", "s3_version_id")
    )
    refusals = s3.tag_objects(
        objects=[(file.key, file.s3_version_id) for file in due],
        tags={PUBLIC_KEY: PUBLIC_VALUE},
        threads=settings.RELEASE_TAG_THREADS,
    )
    tagged = []
    for file, refusal in zip(due, refusals, strict=True):
        if refusal is None:
            tagged.append(file.pk)
        else:
            logger.warning("file %s not published: %s", file.pk, refusal)
    if not tagged:
        return []
    now = timezone.now()
    with transaction.atomic():
        released = list(
            File.objects.select_for_update()
            .filter(pk__in=tagged, released_at__isnull=True)
            .only("id")
            .order_by("pk")
        )
        File.objects.filter(pk__in=[file.pk for file in released]).update(released_at=now)
        audit_events_bulk(actor=actor, action=action, objects=released)
    return [str(file.pk) for file in released]


def file_id_chunks(file_ids: Iterable[uuid.UUID | str], size: int) -> list[list[str]]:
    ids = [str(file_id) for file_id in file_ids]
    return [ids[start : start + size] for start in range(0, len(ids), size)]


@dataclass
class ReconcileReport:
    """File IDs per repair made; `unreadable` lists objects whose tags could not be read."""

    checked: int = 0
    released: list[str] = field(default_factory=list)
    tagged: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    stray_versions: list[str] = field(default_factory=list)  # "<file id>:<version id>" removed
    stray_sweep: StraySweepReport = field(default_factory=StraySweepReport)

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "released": self.released,
            "tagged": self.tagged,
            "untagged": self.untagged,
            "unreadable": self.unreadable,
            "strayVersions": self.stray_versions,
            "straySweep": self.stray_sweep.as_dict(),
        }


def _chunks(files: QuerySet[File]) -> Iterator[list[File]]:
    chunk: list[File] = []
    for file in files.order_by("pk").iterator(chunk_size=_CHUNK):
        chunk.append(file)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_tags(file: File) -> dict[str, str] | None:
    """None when the object cannot be read (gone, or refused); an unreachable store raises."""
    try:
        return s3.object_tags(key=file.key, version_id=file.s3_version_id)
    except StorageUnavailableError:
        raise
    except ApplicationError:
        return None


def _repair(file: File, *, action: str, actor: Actor) -> None:
    with transaction.atomic():
        audit_event(actor=actor, action=action, obj=file, details={"tag": "public=true"})


def files_reconcile_public_tags(*, due: QuerySet[File], actor: Actor = None) -> ReconcileReport:
    """Make S3 agree with the database: every file in `due` released and tagged, every released
    file tagged, no other file tagged; and one bounded run of the sweep of versions no file owns
    (services.stray_versions). Writes an audit event for each repair.

    `due` are the files that must be public (the caller knows why); a deleted file is never
    published. An unreachable store raises StorageUnavailableError, so the run can be retried.
    """
    report = ReconcileReport()
    unfinished = due.filter(
        released_at__isnull=True, deleted_at__isnull=True, status=File.Status.VERIFIED
    )
    ids = list(unfinished.order_by("pk").values_list("pk", flat=True))
    for id_chunk in file_id_chunks(ids, _CHUNK):
        report.released += files_publish(
            file_ids=id_chunk, actor=actor, action="file.release_repaired"
        )

    # A due file a concurrent release is tagging right now must not lose its tag here.
    publishable = due.filter(deleted_at__isnull=True, status=File.Status.VERIFIED)
    candidates = File.objects.filter(status__in=_WITH_OBJECT).exclude(
        released_at__isnull=True, pk__in=publishable.values("pk")
    )
    for chunk in _chunks(candidates):
        report.checked += len(chunk)
        for file, tags in zip(chunk, s3_map(_read_tags, chunk), strict=True):
            if tags is None:
                report.unreadable.append(str(file.pk))
            elif file.released_at is not None and not _is_public(tags):
                _tag_public(file)
                _repair(file, action="file.public_tag_repaired", actor=actor)
                report.tagged.append(str(file.pk))
            elif file.released_at is None and _is_public(tags):
                _untag_public(file)
                _repair(file, action="file.public_tag_removed", actor=actor)
                report.untagged.append(str(file.pk))
    report.stray_sweep = files_sweep_stray_versions(actor=actor)
    report.stray_versions = report.stray_sweep.removed
    return report
