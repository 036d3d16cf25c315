"""S3 multipart uploads: create, presigned part URLs, list, complete, abort, verify."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from django.conf import settings

from core.errors import ApplicationError
from filesharing.s3.base import bucket, client, client_with, translated_errors
from filesharing.s3.checksums import md5_b64, sha256_b64, sha256_hex_from_any
from filesharing.s3.hashing import HASH_CHUNK_SIZE, HASH_STREAMS, hash_object_digests
from filesharing.s3.objects import head
from filesharing.s3.presign import PresignedRequest, signer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef


# An upload created with ChecksumAlgorithm SHA256 makes S3 check every part against the
# x-amz-checksum-sha256 that its presigned URL signs, and S3 then holds a composite checksum
# (SHA-256 of the parts' digests, "<base64>-<parts>") instead of a whole-object one. The
# whole-file SHA-256 is therefore established by the verifier (see services/multipart/verify.py).

MULTIPART_MIN_PART_SIZE = 5 * 1024**2
MULTIPART_MAX_PART_SIZE = 5 * 1024**3
MULTIPART_MAX_PARTS = 10_000
_LIST_PARTS_PAGE = 1000


@dataclass(frozen=True)
class PartFacts:
    number: int
    size: int
    etag: str  # without quotes
    sha256_hex: str | None
    last_modified: datetime | None


@dataclass(frozen=True)
class CompletedUpload:
    etag: str
    version_id: str
    checksum_sha256: str  # composite "<base64>-<parts>", empty without a checksum algorithm


class MultipartUploadGoneError(ApplicationError):
    """S3 no longer knows the upload: aborted, completed, or removed by the lifecycle rule."""

    def __init__(self) -> None:
        super().__init__(
            "multipart_upload_gone",
            "The object store no longer holds this multipart upload; start a new one.",
            status=409,
        )


def _is_no_such_upload(exc: ClientError) -> bool:
    # Ceph RGW answers NoSuchKey (404) where AWS says NoSuchUpload: after an abort or completion.
    return exc.response.get("Error", {}).get("Code", "") in {"NoSuchUpload", "NoSuchKey", "404"}


def composite_sha256(part_sha256_hexes: list[str]) -> str:
    """S3's composite checksum of a multipart object from the SHA-256 of each part, in order."""
    digest = hashlib.sha256(b"".join(bytes.fromhex(value) for value in part_sha256_hexes))
    return f"{base64.b64encode(digest.digest()).decode()}-{len(part_sha256_hexes)}"


def multipart_create(*, key: str, content_type: str, checksum_algorithm: str) -> str:
    """Start an S3 multipart upload; returns S3's upload ID."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if content_type:
        kwargs["ContentType"] = content_type
    if checksum_algorithm:
        kwargs["ChecksumAlgorithm"] = checksum_algorithm
    with translated_errors("start a multipart upload"):
        return client().create_multipart_upload(**kwargs)["UploadId"]


def presign_upload_part(
    *,
    key: str,
    upload_id: str,
    part_number: int,
    size: int | None,
    sha256_hex: str | None,
    lifetime: timedelta,
    md5_hex: str | None = None,
    now: datetime | None = None,
) -> PresignedRequest:
    """A part PUT bound to its size and the digests given (SHA-256 where S3 checks it, MD5
    as Content-MD5): S3 refuses any other bytes. Without a size (clients that never say one),
    any part size S3 takes is accepted."""
    now = now or datetime.now(UTC)
    headers = {} if size is None else {"Content-Length": str(size)}
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    if md5_hex:
        headers["Content-MD5"] = md5_b64(md5_hex)
    seconds = int(lifetime.total_seconds())
    url = signer().sign(
        method="PUT",
        key=key,
        expires_in=seconds,
        headers=headers,
        params={"partNumber": str(part_number), "uploadId": upload_id},
        now=now,
    )
    return PresignedRequest(url, "PUT", headers, now + timedelta(seconds=seconds))


def multipart_list_parts(*, key: str, upload_id: str) -> list[PartFacts]:
    """Every part S3 holds for the upload, following S3's pages of at most 1000 parts."""
    parts: list[PartFacts] = []
    marker = 0
    with translated_errors("list the parts of a multipart upload"):
        while True:
            try:
                page = client().list_parts(
                    Bucket=bucket(),
                    Key=key,
                    UploadId=upload_id,
                    MaxParts=_LIST_PARTS_PAGE,
                    PartNumberMarker=marker,
                )
            except ClientError as exc:
                if _is_no_such_upload(exc):
                    raise MultipartUploadGoneError() from exc
                raise
            for part in page.get("Parts", []):
                checksum = part.get("ChecksumSHA256")
                parts.append(
                    PartFacts(
                        number=int(part["PartNumber"]),
                        size=int(part["Size"]),
                        etag=part["ETag"].strip('"'),
                        sha256_hex=sha256_hex_from_any(checksum) if checksum else None,
                        last_modified=part.get("LastModified"),
                    )
                )
            if not page.get("IsTruncated"):
                break
            next_marker = int(page.get("NextPartNumberMarker") or 0)
            if next_marker <= marker:
                break
            marker = next_marker
    return sorted(parts, key=lambda part: part.number)


def completion_client() -> S3Client:
    """The client that completes uploads: S3 answers only once the parts are assembled, which
    takes longer than any other call's read timeout allows for large objects; one attempt, as
    a completion sent again after a timeout finds the upload already gone."""
    return client_with(
        read_timeout=settings.S3_COMPLETE_READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )


def multipart_complete(*, key: str, upload_id: str, parts: list[PartFacts]) -> CompletedUpload:
    """Assemble the object. boto3 raises on S3's "200 OK with an error body" answer."""
    listed: list[CompletedPartTypeDef] = []
    for part in parts:
        entry: CompletedPartTypeDef = {"PartNumber": part.number, "ETag": f'"{part.etag}"'}
        if part.sha256_hex:
            entry["ChecksumSHA256"] = sha256_b64(part.sha256_hex)
        listed.append(entry)
    with translated_errors("complete a multipart upload"):
        try:
            response = completion_client().complete_multipart_upload(
                Bucket=bucket(), Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if _is_no_such_upload(exc):
                raise MultipartUploadGoneError() from exc
            if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "BadDigest"}:
                raise ApplicationError(
                    "multipart_parts_invalid",
                    f"The object store refused to assemble the parts: {code}.",
                    status=422,
                    details={"storageCode": code},
                ) from exc
            raise
    return CompletedUpload(
        etag=response.get("ETag", "").strip('"'),
        version_id=response.get("VersionId") or "",
        checksum_sha256=response.get("ChecksumSHA256") or "",
    )


def multipart_abort(*, key: str, upload_id: str) -> bool:
    """Abort and free the parts; False when S3 no longer knew the upload (already gone)."""
    with translated_errors("abort a multipart upload"):
        try:
            client().abort_multipart_upload(Bucket=bucket(), Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _is_no_such_upload(exc):
                return False
            raise
    return True


def hash_object_ranged(
    *,
    key: str,
    size: int,
    version_id: str = "",
    chunk_size: int = HASH_CHUNK_SIZE,
    streams: int = HASH_STREAMS,
) -> str:
    """SHA-256 of a large object, read back in bounded memory (see s3.hashing)."""
    return hash_object_digests(
        key=key, size=size, version_id=version_id, chunk_size=chunk_size, streams=streams
    ).sha256_hex


def object_checksum_sha256(*, key: str, version_id: str = "") -> str | None:
    """The SHA-256 checksum S3 holds for an object as it reports it: whole-object base64, or a
    multipart object's composite "<base64>-<parts>"; None when it holds none."""
    facts = head(key=key, version_id=version_id)
    return facts.checksum_sha256 if facts else None
