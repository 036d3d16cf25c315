"""DRS objects built from what the selectors let the caller see: a verified file is a blob;
an entry version is a bundle of its file categories, each a bundle of the files the entry
shows the caller (entry_visible_files decides, as everywhere else)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from core.errors import NotFoundError
from core.types import AnyUser
from filesharing.models import File
from filesharing.selectors import file_get_for_user
from interop.drs.ids import DrsId, category_bundle_id, drs_uri
from submissions.models import Attachment, SequenceEntry
from submissions.selectors import (
    current_pipeline_versions,
    entry_displayed_processed,
    entry_get_for_user,
    entry_visible_files,
    user_can_read_entry_group,
)

ACCESS_ID = "https"  # the one access method: a presigned (or public) HTTPS URL
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def file_checksums(file: File) -> list[dict[str, str]]:
    """sha-256 and md5 as recorded on verification; a file verified before MD5 was recorded
    shows S3's ETag where it is the MD5 of a single-part upload (a multipart ETag has a
    `-<parts>` suffix and is no MD5)."""
    checksums = []
    if file.sha256:
        checksums.append({"type": "sha-256", "checksum": file.sha256})
    md5 = file.md5 or (file.etag if _MD5.match(file.etag) else "")
    if md5:
        checksums.append({"type": "md5", "checksum": md5})
    if not checksums and file.etag:
        checksums.append({"type": "etag", "checksum": file.etag})
    return checksums


def visible_file(*, file_id: str, user: AnyUser) -> File:
    """A verified, live file the caller may see; a file without bytes yet is no DRS object."""
    file = file_get_for_user(file_id=file_id, user=user)
    if file.status != File.Status.VERIFIED or file.deleted_at is not None:
        raise NotFoundError("object", file_id)
    return file


def blob(request: HttpRequest, file: File) -> dict[str, Any]:
    created = _time(file.verified_at or file.upload_requested_at)
    body: dict[str, Any] = {
        "id": str(file.pk),
        "name": file.name or str(file.pk),
        "self_uri": drs_uri(request, str(file.pk)),
        "size": file.size,
        "created_time": created,
        "updated_time": created,
        "version": str(file.version),
        "checksums": file_checksums(file),
        "access_methods": [{"type": "https", "access_id": ACCESS_ID}],
    }
    if file.content_type:
        body["mime_type"] = file.content_type
    return body


def _bundle_checksum(digests: Iterable[str]) -> list[dict[str, str]]:
    """DRS's bundle checksum: SHA-256 of the sorted contents' SHA-256 digests, concatenated."""
    joined = "".join(sorted(digests))
    return [{"type": "sha-256", "checksum": hashlib.sha256(joined.encode()).hexdigest()}]


def _entry_files(entry: SequenceEntry, user: AnyUser) -> list[Attachment]:
    group_reader = user_can_read_entry_group(user=user, entry=entry)
    processed = entry_displayed_processed(
        entry=entry,
        current=current_pipeline_versions().get(entry.organism, 1),
        public_only=not group_reader,
    )
    return [
        attachment
        for attachment in entry_visible_files(
            entry=entry, processed=processed, group_reader=group_reader
        )
        if attachment.file.status == File.Status.VERIFIED and attachment.file.deleted_at is None
    ]


def _file_content(request: HttpRequest, attachment: Attachment) -> dict[str, Any]:
    file_id = str(attachment.file_id)
    return {"name": attachment.name, "id": file_id, "drs_uri": [drs_uri(request, file_id)]}


def _category_bundle(
    request: HttpRequest, entry: SequenceEntry, category: str, files: list[Attachment]
) -> dict[str, Any]:
    object_id = category_bundle_id(entry.accession_version, category)
    return {
        "id": object_id,
        "name": category,
        "self_uri": drs_uri(request, object_id),
        "size": sum(a.file.size or 0 for a in files),
        "created_time": _time(entry.submitted_at),
        "updated_time": _time(entry.released_at or entry.submitted_at),
        "version": str(entry.version),
        "checksums": _bundle_checksum(a.file.sha256 for a in files),
        "contents": [_file_content(request, a) for a in files],
        "description": f"{category} files of {entry.accession_version}",
    }


def bundle(request: HttpRequest, drs_id: DrsId, user: AnyUser, *, expand: bool) -> dict[str, Any]:
    entry = entry_get_for_user(accession_version=drs_id.accession_version, user=user)
    by_category: dict[str, list[Attachment]] = {}
    for attachment in _entry_files(entry, user):
        by_category.setdefault(attachment.category, []).append(attachment)
    if drs_id.category:
        if drs_id.category not in by_category:
            raise NotFoundError(
                "object", category_bundle_id(entry.accession_version, drs_id.category)
            )
        return _category_bundle(request, entry, drs_id.category, by_category[drs_id.category])
    categories = [
        _category_bundle(request, entry, category, files)
        for category, files in sorted(by_category.items())
    ]
    contents = []
    for item in categories:
        content = {"name": item["name"], "id": item["id"], "drs_uri": [item["self_uri"]]}
        if expand:
            content["contents"] = item["contents"]
        contents.append(content)
    return {
        "id": entry.accession_version,
        "name": entry.accession_version,
        "self_uri": drs_uri(request, entry.accession_version),
        "size": sum(item["size"] for item in categories),
        "created_time": _time(entry.submitted_at),
        "updated_time": _time(entry.released_at or entry.submitted_at),
        "version": str(entry.version),
        "checksums": _bundle_checksum(item["checksums"][0]["checksum"] for item in categories),
        "contents": contents,
        "description": f"Files of {entry.organism} entry {entry.accession_version}",
    }
