"""Loculus's request-uploads: File rows first, then presigned PUTs straight to S3.

A file whose SHA-256 and size equal a verified file of the same group is not stored again: its
ticket names that file, with `deduplicated` set and no URL (unless the request says dedup=false).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event, audit_events_bulk
from core.bulk import bulk_insert, new_instances
from core.errors import ApplicationError
from filesharing import s3
from filesharing.models import File
from filesharing.names import validate_content_type, validate_filename
from filesharing.selectors import group_storage_used, verified_files_with_digests
from filesharing.services.latest import files_supersede, latest_version_numbers
from filesharing.services.storage import storage_capabilities
from groups.models import Group
from groups.permissions import user_can_read_group, user_is_curator, user_is_pipeline


@dataclass(frozen=True)
class FileSpec:
    name: str | None = None  # None: unnamed (numberFiles); named files follow the name rules
    size: int | None = None
    sha256: str | None = None
    content_type: str = ""
    md5: str | None = None


@dataclass(frozen=True)
class UploadTicket:
    file: File
    upload: s3.PresignedRequest | None  # None when deduplicated: nothing to send
    deduplicated: bool = False


def _check_actor(*, user: User, group: Group) -> None:
    if user_is_pipeline(user) or user_is_curator(user):
        return
    if not user_can_read_group(user=user, group=group):
        raise ApplicationError("group_not_found", f"No group {group.pk}.", status=404)


def _normalised(specs: list[FileSpec]) -> list[FileSpec]:
    """Names checked, digests in hex; a bad spec refuses the whole request."""
    if not 1 <= len(specs) <= settings.MAX_FILES_PER_REQUEST:
        raise ApplicationError(
            "too_many_files",
            f"Request between 1 and {settings.MAX_FILES_PER_REQUEST} files at once.",
            details={"requested": len(specs)},
        )
    seen: set[str] = set()
    result = []
    for index, spec in enumerate(specs):
        if spec.name is not None:
            validate_filename(spec.name, where=f"files[{index}]")
            if spec.name in seen:
                raise ApplicationError(
                    "duplicate_filename",
                    f"files[{index}]: {spec.name!r} is named twice in this request.",
                    details={"name": spec.name},
                )
            seen.add(spec.name)
        validate_content_type(spec.content_type, where=f"files[{index}]")
        if spec.size is not None and spec.size > settings.MAX_FILE_SIZE:
            raise ApplicationError(
                "file_too_large",
                f"files[{index}]: {spec.size} bytes is over the limit of "
                f"{settings.MAX_FILE_SIZE} bytes.",
                status=413,
                details={"size": spec.size, "max_file_size": settings.MAX_FILE_SIZE},
            )
        sha256 = s3.sha256_hex_from_any(spec.sha256) if spec.sha256 else None
        md5 = s3.md5_hex_from_any(spec.md5) if spec.md5 else None
        result.append(
            FileSpec(
                name=spec.name,
                size=spec.size,
                sha256=sha256,
                content_type=spec.content_type,
                md5=md5,
            )
        )
    return result


def group_quota_check(*, group: Group, specs: list[FileSpec], now: datetime) -> None:
    if group.quota_bytes is None:
        return
    undeclared = [i for i, spec in enumerate(specs) if spec.size is None]
    if undeclared:
        raise ApplicationError(
            "size_required",
            f"Group {group.name} has a storage quota, so every file must declare its size "
            f"(missing for files {undeclared[:10]}).",
            details={"indexes": undeclared},
        )
    used = group_storage_used(group=group, now=now)
    wanted = sum(spec.size or 0 for spec in specs)
    if used + wanted > group.quota_bytes:
        raise ApplicationError(
            "quota_exceeded",
            f"Group {group.name} would use {used + wanted} of its {group.quota_bytes} bytes.",
            status=413,
            details={"quota_bytes": group.quota_bytes, "used_bytes": used, "requested": wanted},
        )


def _next_versions(*, group: Group, specs: list[FileSpec]) -> list[int]:
    names = [spec.name for spec in specs if spec.name]
    latest = latest_version_numbers(group_id=group.pk, names=names)
    return [latest.get(spec.name, 0) + 1 if spec.name else 1 for spec in specs]


def _duplicates(*, group: Group, specs: list[FileSpec]) -> dict[tuple[str, int], File]:
    """Verified, live files of the group by (sha256, size); the latest verified one wins."""
    digests = {spec.sha256 for spec in specs if spec.sha256 and spec.size is not None}
    if not digests:
        return {}
    found: dict[tuple[str, int], File] = {}
    for file in verified_files_with_digests(group_id=group.pk, digests=digests):
        assert file.size is not None
        found[(file.sha256, file.size)] = file
    return found


def _deduplicate(
    *, group: Group, user: User, specs: list[FileSpec]
) -> tuple[dict[int, File], list[FileSpec]]:
    """Split the specs into those an existing file answers (by index) and those to store."""
    existing = _duplicates(group=group, specs=specs)
    reused: dict[int, File] = {}
    new: list[FileSpec] = []
    for index, spec in enumerate(specs):
        match = None
        if spec.sha256 and spec.size is not None:
            match = existing.get((spec.sha256, spec.size))
        if match is None:
            new.append(spec)
        else:
            reused[index] = match
            audit_event(
                actor=user,
                action="file.deduplicated",
                obj=match,
                details={"requestedName": spec.name or ""},
            )
    return reused, new


def file_request_uploads(
    *, group: Group, user: User, specs: list[FileSpec], dedup: bool = True
) -> list[UploadTicket]:
    """Create one File per spec and a presigned PUT for each, all or nothing; with `dedup`,
    specs whose content the group already holds, verified, answer that file instead."""
    _check_actor(user=user, group=group)
    s3.require_available()
    all_specs = _normalised(specs)
    now = timezone.now()
    with transaction.atomic():
        # The group row serialises version numbers and quota checks between requests.
        group = Group.objects.select_for_update().get(pk=group.pk)
        reused, specs = (
            _deduplicate(group=group, user=user, specs=all_specs) if dedup else ({}, all_specs)
        )
        group_quota_check(group=group, specs=specs, now=now)
        deadline = now + settings.UPLOAD_DEADLINE
        files = new_instances(
            File,
            common={"upload_deadline": deadline, "is_latest": True},
            rows=(
                {
                    "name": spec.name or "",
                    "version": version,
                    "content_type": spec.content_type,
                    "declared_size": spec.size,
                    "declared_sha256": spec.sha256 or "",
                    "declared_md5": spec.md5 or "",
                }
                for spec, version in zip(
                    specs, _next_versions(group=group, specs=specs), strict=True
                )
            ),
            related={"group": group, "uploader": user},
        )
        if files:
            files_supersede(group_id=group.pk, names=[file.name for file in files])
            bulk_insert(files)
            audit_events_bulk(actor=user, action="file.upload_requested", objects=files)
    created = iter(files)
    sha256_checked = storage_capabilities().verifies_sha256 if files else False
    return [
        UploadTicket(file=reused[index], upload=None, deduplicated=True)
        if index in reused
        else _ticket(next(created), now=now, sha256_checked=sha256_checked)
        for index in range(len(all_specs))
    ]


def _ticket(file: File, *, now: datetime, sha256_checked: bool) -> UploadTicket:
    """The URL signs what this S3 checks: the SHA-256 where it verifies it, the MD5 when one
    was declared. (A SHA-256 signed where S3 ignores it would bind nothing.)"""
    return UploadTicket(
        file=file,
        upload=s3.presign_put(
            key=file.key,
            size=file.declared_size,
            sha256_hex=(file.declared_sha256 or None) if sha256_checked else None,
            md5_hex=file.declared_md5 or None,
            content_type=file.content_type or None,
            lifetime=settings.UPLOAD_URL_LIFETIME,
            now=now,
        ),
    )
