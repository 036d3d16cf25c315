"""What the bucket holds, listed in bulk (one request per 1,000 versions, not one per file)."""

from __future__ import annotations

from filesharing.s3.base import bucket, client, translated_errors


def stored_versions(*, prefix: str) -> set[tuple[str, str]]:
    """(key, version ID) of every object version under `prefix`; delete markers left out."""
    found: set[tuple[str, str]] = set()
    with translated_errors("list object versions"):
        paginator = client().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
            for item in page.get("Versions", []):
                found.add((item["Key"], item.get("VersionId") or "null"))
    return found
