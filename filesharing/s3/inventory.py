"""What the bucket holds, listed in bulk (one request per 1,000 versions, not one per file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from filesharing.s3.base import bucket, client, translated_errors
from filesharing.s3.sessions import ObjectVersion

_DELETE_BATCH = 1000  # the most one DeleteObjects request takes


def stored_versions(*, prefix: str) -> set[tuple[str, str]]:
    """(key, version ID) of every object version under `prefix`; delete markers left out."""
    found: set[tuple[str, str]] = set()
    with translated_errors("list object versions"):
        paginator = client().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
            for item in page.get("Versions", []):
                found.add((item["Key"], item.get("VersionId") or "null"))
    return found


@dataclass(frozen=True)
class VersionPage:
    """One ListObjectVersions answer: versions and delete markers in key order, and where the
    listing goes on (empty markers: it is complete)."""

    versions: list[ObjectVersion]
    next_key: str
    next_version: str


def object_versions_page(
    *, prefix: str, key_marker: str = "", version_marker: str = "", max_keys: int = 1000
) -> VersionPage:
    """At most `max_keys` versions and delete markers under `prefix` (one request), from the
    markers on: with both, those after that version of that key (any S3); with a key marker
    alone, those of the keys after it (AWS, LocalStack) or from it on (Ceph RGW Pacific counts
    the marker's own key in). A page that is not the last may end inside a key."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Prefix": prefix, "MaxKeys": max_keys}
    if key_marker:
        kwargs["KeyMarker"] = key_marker
        if version_marker:
            kwargs["VersionIdMarker"] = version_marker
    with translated_errors("list object versions"):
        page = client().list_object_versions(**kwargs)
    found = [
        *(
            ObjectVersion(item["Key"], item.get("VersionId") or "null", False)
            for item in page.get("Versions", [])
        ),
        *(
            ObjectVersion(item["Key"], item.get("VersionId") or "null", True)
            for item in page.get("DeleteMarkers", [])
        ),
    ]
    # S3 answers versions and delete markers in two lists, each in key order.
    found.sort(key=lambda version: version.key)
    truncated = bool(page.get("IsTruncated"))
    return VersionPage(
        versions=found,
        next_key=page.get("NextKeyMarker", "") if truncated else "",
        next_version=page.get("NextVersionIdMarker", "") if truncated else "",
    )


def delete_versions(*, versions: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Remove these (key, version ID) for good, 1,000 per request. Answers the refusals, by
    (key, version ID): S3's error code for each version it did not remove (an empty answer
    means every one is gone; removing a version already gone is no error)."""
    refused: dict[tuple[str, str], str] = {}
    s3, name = client(), bucket()
    with translated_errors("delete object versions"):
        for start in range(0, len(versions), _DELETE_BATCH):
            batch = versions[start : start + _DELETE_BATCH]
            answer = s3.delete_objects(
                Bucket=name,
                Delete={
                    "Objects": [{"Key": key, "VersionId": version} for key, version in batch],
                    "Quiet": True,
                },
            )
            for error in answer.get("Errors", []):
                code = error.get("Code", "")
                if code in {"NoSuchVersion", "NoSuchKey"}:
                    continue
                refused[(error.get("Key", ""), error.get("VersionId", ""))] = code
    return refused
