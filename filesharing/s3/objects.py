"""Facts, bytes and tags of single objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.errors import ApplicationError, StorageUnavailableError
from filesharing.s3.base import bucket, client, is_not_found, translated_errors
from filesharing.s3.checksums import sha256_hex_from_any

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ObjectFacts:
    size: int
    etag: str
    version_id: str
    sha256_hex: str | None  # None when S3 holds no full-object SHA-256 for it
    checksum_type: str
    content_type: str
    # As S3 reports it: whole-object base64, or a multipart composite "<base64>-<parts>".
    checksum_sha256: str | None = None
    tag_count: int | None = None  # x-amz-tagging-count where S3 sends it (see the probe)


def head(*, key: str, version_id: str = "") -> ObjectFacts | None:
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key, "ChecksumMode": "ENABLED"}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("read an object's facts"):
        try:
            response = client().head_object(**kwargs)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
    checksum = response.get("ChecksumSHA256")
    full_object = checksum is not None and "-" not in checksum
    return ObjectFacts(
        size=int(response["ContentLength"]),
        etag=response.get("ETag", "").strip('"'),
        version_id=response.get("VersionId") or "",
        sha256_hex=sha256_hex_from_any(checksum) if full_object and checksum else None,
        checksum_type=response.get("ChecksumType", "") or "",
        content_type=response.get("ContentType", "") or "",
        checksum_sha256=checksum,
        tag_count=response.get("TagCount"),
    )


def object_tags(*, key: str, version_id: str = "") -> dict[str, str]:
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("read an object's tags"):
        tags = client().get_object_tagging(**kwargs)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def set_object_tags(*, key: str, tags: Mapping[str, str], version_id: str = "") -> None:
    kwargs: dict[str, Any] = {
        "Bucket": bucket(),
        "Key": key,
        "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]},
    }
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("tag an object"):
        client().put_object_tagging(**kwargs)


def tag_objects(
    *, objects: Sequence[tuple[str, str]], tags: Mapping[str, str], threads: int = 16
) -> list[str | None]:
    """Set the same tag set on many (key, version_id) objects, one PUT each, `threads` at once
    through one client (boto3 clients are thread-safe; a client per thread would cost a
    session each). Answers, in order, None for each object tagged or the store's refusal;
    an unreachable store raises StorageUnavailableError."""
    s3, name = client(), bucket()
    tagging: Any = {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def tag(item: tuple[str, str]) -> str | None:
        key, version_id = item
        kwargs: dict[str, Any] = {"Bucket": name, "Key": key, "Tagging": tagging}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            with translated_errors("tag an object"):
                s3.put_object_tagging(**kwargs)
        except StorageUnavailableError:
            raise
        except ApplicationError as exc:
            return exc.message
        return None

    if len(objects) <= 1:
        return [tag(item) for item in objects]
    with ThreadPoolExecutor(min(threads, len(objects))) as pool:
        return list(pool.map(tag, objects))


def delete_object_version(*, key: str, version_id: str) -> None:
    """Remove one version of an object for good (orphaned-file cleanup; see DESIGN rule 2)."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("delete an object"):
        client().delete_object(**kwargs)
