"""Object versions no file owns, removed by reconciliation.

Where S3 ignores If-None-Match (Ceph RGW), an upload URL still valid after its file was verified
can write another version to the file's key. Every read names the verified version, so such a
write neither replaces nor breaks the file; this sweep removes it, with its tags. Only files that
can no longer change are swept: verified and attached to an entry or released. (A project
session's files may legitimately take new versions until the session completes, and a file
still settling owns whatever S3 holds under its key.)

Every URL that writes to a file's key expires by the file's `upload_deadline`, so only files
whose deadline is at most SWEEP_WINDOW old can gain a version: the sweep costs one listing per
such file, however large the bucket grows.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import Actor, audit_event
from filesharing import s3
from filesharing.models import File
from filesharing.selectors import attached_q
from filesharing.services.parallel import s3_map

# Reconciliation runs hourly: each file is swept many times after its last URL expired.
SWEEP_WINDOW = timedelta(days=2)


def _strays(file: File) -> list[str]:
    """Version IDs under the file's key other than the verified one (no database access)."""
    return [
        version.version_id
        for page in s3.list_object_versions(prefix=file.key)
        for version in page
        if version.key == file.key and version.version_id != file.s3_version_id
    ]


def files_remove_stray_versions(*, actor: Actor = None) -> list[str]:
    """Remove every version and delete marker under a settled file's key other than the one
    it verified; an audit event per file. Answers `<file id>:<version id>` of each removed."""
    candidates = list(
        File.objects.filter(
            status=File.Status.VERIFIED,
            upload_deadline__gte=timezone.now() - SWEEP_WINDOW,
        )
        .exclude(s3_version_id="")
        .filter(attached_q() | Q(released_at__isnull=False))
        .order_by("pk")
    )
    removed: list[str] = []
    for file, strays in zip(candidates, s3_map(_strays, candidates), strict=True):
        if not strays:
            continue
        for version_id in strays:
            s3.delete_object_version(key=file.key, version_id=version_id)
        with transaction.atomic():
            audit_event(
                actor=actor,
                action="file.stray_versions_removed",
                obj=file,
                details={"versionIds": strays, "keptVersionId": file.s3_version_id},
            )
        removed += [f"{file.pk}:{version_id}" for version_id in strays]
    return removed
