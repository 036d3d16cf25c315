"""Object versions no file owns, removed by reconciliation.

Where S3 ignores If-None-Match (Ceph RGW), an upload URL still valid after its file was verified
can write another version to the file's key. Every read names the verified version, so such a
write neither replaces nor breaks the file; this sweep removes it, with its tags. Only files that
can no longer change are swept: verified and attached to an entry or released. (A project
session's files may legitimately take new versions until the session completes, and a file
still settling owns whatever S3 holds under its key.)
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Q

from core.audit import Actor, audit_event
from filesharing import s3
from filesharing.models import File
from filesharing.selectors import attached_q

_PREFIX = "files/"


def _file_id(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.removeprefix(_PREFIX))
    except ValueError:
        return None


def _settled_owners(ids: set[uuid.UUID]) -> dict[str, str]:
    """Key to verified version ID of the files among `ids` that can no longer change."""
    settled = (
        File.objects.filter(pk__in=ids, status=File.Status.VERIFIED)
        .exclude(s3_version_id="")
        .filter(attached_q() | Q(released_at__isnull=False))
    )
    return {f"{_PREFIX}{pk}": version for pk, version in settled.values_list("pk", "s3_version_id")}


def files_remove_stray_versions(*, actor: Actor = None) -> list[str]:
    """Remove every version and delete marker under a settled file's key other than the one
    it verified; an audit event per file. Answers `<file id>:<version id>` of each removed."""
    removed: list[str] = []
    for page in s3.list_object_versions(prefix=_PREFIX):
        ids = {found for version in page if (found := _file_id(version.key))}
        owners = _settled_owners(ids)
        strays: dict[str, list[s3.ObjectVersion]] = {}
        for version in page:
            verified = owners.get(version.key)
            if verified is not None and version.version_id != verified:
                strays.setdefault(version.key, []).append(version)
        for key, versions in strays.items():
            for version in versions:
                s3.delete_object_version(key=key, version_id=version.version_id)
            file = File.objects.get(pk=key.removeprefix(_PREFIX))
            with transaction.atomic():
                audit_event(
                    actor=actor,
                    action="file.stray_versions_removed",
                    obj=file,
                    details={
                        "versionIds": [version.version_id for version in versions],
                        "keptVersionId": file.s3_version_id,
                    },
                )
            removed += [f"{file.pk}:{version.version_id}" for version in versions]
    return removed
