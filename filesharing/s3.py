"""The only module that talks to S3. Client and bucket come from STORAGES["files"].

Presigned URLs are signed here with AWS Signature V4 directly (query-string form) rather than
through botocore's generic request pipeline: the signature is the same, but a request for a
thousand uploads costs a thousand HMACs instead of a thousand botocore request builds. The URL
prefix (scheme, host, bucket addressing) is still taken from botocore, once per client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import storages

from core.errors import ApplicationError, StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PUBLIC_TAG = ("public", "true")
MULTIPART_ABORT_DAYS = 7
_UNRESERVED = "-_.~"


# --- client ---------------------------------------------------------------------------------


def client() -> S3Client:
    return storages["files"].connection.meta.client  # type: ignore[attr-defined]


def bucket() -> str:
    return storages["files"].bucket_name  # type: ignore[attr-defined]


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """S3 failures become our error codes; callers never see botocore exceptions."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
            raise StorageUnavailableError(f"The object store failed to {action}.") from exc
        raise ApplicationError(
            "storage_error", f"The object store refused to {action}: {code}.", status=502
        ) from exc
    except BotoCoreError as exc:
        raise StorageUnavailableError(f"The object store is unreachable ({action}).") from exc


def _is_not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


# --- checksums ------------------------------------------------------------------------------


def sha256_hex_from_any(value: str) -> str:
    """Accept a SHA-256 as 64 hex digits or as 44 base64 characters; return lowercase hex."""
    text = value.strip()
    if len(text) == 64:
        try:
            bytes.fromhex(text)
        except ValueError:
            pass
        else:
            return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ApplicationError(
            "invalid_sha256",
            f"{value!r} is not a SHA-256 digest (64 hex digits or base64 of 32 bytes).",
        )
    return raw.hex()


def sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


# --- presigning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PresignedRequest:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class _Signer:
    """SigV4 query signing for one client: URL prefix and signing keys are cached."""

    def __init__(self, s3: S3Client, bucket_name: str) -> None:
        self._client = s3
        self.region = s3.meta.region_name or "us-east-1"
        probe = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket_name, "Key": "files/probe"}, ExpiresIn=60
        )
        parts = urlsplit(probe)
        self.scheme, self.host = parts.scheme, parts.netloc
        self.path_prefix = parts.path[: -len("files/probe")]
        if settings.S3_PRESIGN_ENDPOINT_URL:
            # Clients reach S3 under another name than the server does (e.g. a container
            # network): the signature covers the host, so sign for the clients' name.
            public = urlsplit(settings.S3_PRESIGN_ENDPOINT_URL)
            self.scheme, self.host = public.scheme, public.netloc
            self.path_prefix = public.path.rstrip("/") + self.path_prefix
        self._keys: dict[tuple[str, str], bytes] = {}
        self._queries: dict[tuple[Any, ...], str] = {}

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._keys.get((secret, day))
        if cached is None:
            key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
            for part in (self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, day): key}
            cached = key
        return cached

    def _canonical_query(
        self,
        credentials: Any,
        scope: str,
        amz_date: str,
        expires_in: int,
        signed_names: str,
        params: Mapping[str, str],
    ) -> str:
        """The sorted, encoded query; the same for every URL of a batch signed in one second."""
        cache_key = (
            credentials.access_key,
            credentials.token,
            amz_date,
            expires_in,
            signed_names,
            tuple(sorted(params.items())),
        )
        cached = self._queries.get(cache_key)
        if cached is not None:
            return cached
        query = {
            **params,
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{credentials.access_key}/{scope}",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(expires_in),
            "X-Amz-SignedHeaders": signed_names,
        }
        if credentials.token:
            query["X-Amz-Security-Token"] = credentials.token
        canonical = "&".join(
            f"{quote(k, safe=_UNRESERVED)}={quote(v, safe=_UNRESERVED)}"
            for k, v in sorted(query.items())
        )
        if len(self._queries) > 256:
            self._queries.clear()
        self._queries[cache_key] = canonical
        return canonical

    def sign(
        self,
        *,
        method: str,
        key: str,
        expires_in: int,
        headers: Mapping[str, str],
        params: Mapping[str, str],
        now: datetime,
    ) -> str:
        credentials = self._client._request_signer._credentials.get_frozen_credentials()  # type: ignore[attr-defined]
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        scope = f"{day}/{self.region}/s3/aws4_request"
        signed = {"host": self.host, **{k.lower(): v.strip() for k, v in headers.items()}}
        signed_names = ";".join(sorted(signed))
        canonical_query = self._canonical_query(
            credentials, scope, amz_date, expires_in, signed_names, params
        )
        path = self.path_prefix + quote(key, safe="/" + _UNRESERVED)
        canonical_headers = "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))
        canonical_request = "\n".join(
            [method, path, canonical_query, canonical_headers, signed_names, "UNSIGNED-PAYLOAD"]
        )
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        signature = hmac.new(
            self._signing_key(credentials.secret_key, day), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()
        return f"{self.scheme}://{self.host}{path}?{canonical_query}&X-Amz-Signature={signature}"


_local = threading.local()


def _signer() -> _Signer:
    s3 = client()
    signer: _Signer | None = getattr(_local, "signer", None)
    if signer is None or signer._client is not s3:
        with translated_errors("sign a URL"):
            signer = _Signer(s3, bucket())
        _local.signer = signer
    return signer


def presign_put(
    *,
    key: str,
    size: int | None,
    sha256_hex: str | None,
    content_type: str | None,
    lifetime: timedelta,
    now: datetime | None = None,
) -> PresignedRequest:
    """A PUT that S3 accepts only once (If-None-Match) and only for the declared bytes."""
    now = now or datetime.now(UTC)
    headers = {"If-None-Match": "*"}
    if size is not None:
        headers["Content-Length"] = str(size)
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    if content_type:
        headers["Content-Type"] = content_type
    seconds = int(lifetime.total_seconds())
    url = _signer().sign(
        method="PUT", key=key, expires_in=seconds, headers=headers, params={}, now=now
    )
    return PresignedRequest(url, "PUT", headers, now + timedelta(seconds=seconds))


def presign_get(
    *,
    key: str,
    lifetime: timedelta,
    version_id: str = "",
    content_disposition: str | None = None,
    now: datetime | None = None,
) -> PresignedRequest:
    now = now or datetime.now(UTC)
    params: dict[str, str] = {}
    if version_id:
        params["versionId"] = version_id
    if content_disposition:
        params["response-content-disposition"] = content_disposition
    seconds = int(lifetime.total_seconds())
    url = _signer().sign(
        method="GET", key=key, expires_in=seconds, headers={}, params=params, now=now
    )
    return PresignedRequest(url, "GET", {}, now + timedelta(seconds=seconds))


def public_url(*, key: str, base: str | None) -> str:
    """The unsigned URL of an object the bucket policy makes public (tag public=true)."""
    if base:
        return f"{base.rstrip('/')}/{quote(key, safe='/')}"
    signer = _signer()
    return f"{signer.scheme}://{signer.host}{signer.path_prefix}{quote(key, safe='/')}"


# --- objects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectFacts:
    size: int
    etag: str
    version_id: str
    sha256_hex: str | None  # None when S3 holds no full-object SHA-256 for it
    checksum_type: str
    content_type: str


def head(*, key: str, version_id: str = "") -> ObjectFacts | None:
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key, "ChecksumMode": "ENABLED"}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("read an object's facts"):
        try:
            response = client().head_object(**kwargs)
        except ClientError as exc:
            if _is_not_found(exc):
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
    )


def hash_object(*, key: str, version_id: str = "", chunk_size: int = 8 * 1024 * 1024) -> str:
    """Stream an object through SHA-256; used for objects that S3 holds no checksum for."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    digest = hashlib.sha256()
    with translated_errors("read an object"):
        body = client().get_object(**kwargs)["Body"]
        for chunk in body.iter_chunks(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


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


def delete_object_version(*, key: str, version_id: str) -> None:
    """Remove one version of an object for good (orphaned-file cleanup; see DESIGN rule 2)."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("delete an object"):
        client().delete_object(**kwargs)


# --- multipart uploads ----------------------------------------------------------------------
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
    return exc.response.get("Error", {}).get("Code", "") in {"NoSuchUpload", "404"}


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
    size: int,
    sha256_hex: str | None,
    lifetime: timedelta,
    now: datetime | None = None,
) -> PresignedRequest:
    """A part PUT bound to its size and, when given, its SHA-256: S3 refuses any other bytes."""
    now = now or datetime.now(UTC)
    headers = {"Content-Length": str(size)}
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    seconds = int(lifetime.total_seconds())
    url = _signer().sign(
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
            response = client().complete_multipart_upload(
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
    chunk_size: int = 16 * 1024 * 1024,
    streams: int = 8,
) -> str:
    """SHA-256 of a large object: ranges are fetched by `streams` parallel GETs (one S3 stream
    gives ~100 MB/s) and hashed in order; at most `streams` chunks are held in memory."""
    s3, name = client(), bucket()

    def fetch(start: int) -> bytes:
        kwargs: dict[str, Any] = {
            "Bucket": name,
            "Key": key,
            "Range": f"bytes={start}-{min(size, start + chunk_size) - 1}",
        }
        if version_id:
            kwargs["VersionId"] = version_id
        return bytes(s3.get_object(**kwargs)["Body"].read())

    digest = hashlib.sha256()
    starts = iter(range(0, size, chunk_size))
    with translated_errors("read an object"), ThreadPoolExecutor(streams) as pool:
        window = [pool.submit(fetch, start) for start in islice(starts, streams)]
        while window:
            data = window.pop(0).result()
            for start in islice(starts, 1):
                window.append(pool.submit(fetch, start))
            digest.update(data)
    return digest.hexdigest()


def object_checksum_sha256(*, key: str, version_id: str = "") -> str | None:
    """The SHA-256 checksum S3 holds for an object as it reports it: whole-object base64, or a
    multipart object's composite "<base64>-<parts>"; None when it holds none."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key, "ChecksumMode": "ENABLED"}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("read an object's checksum"):
        try:
            response = client().head_object(**kwargs)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
    return response.get("ChecksumSHA256")


# --- bucket ---------------------------------------------------------------------------------


def bucket_check() -> None:
    with translated_errors("reach the bucket"):
        client().head_bucket(Bucket=bucket())


def public_read_policy(bucket_name: str) -> dict[str, Any]:
    """Anonymous GET only of objects tagged public=true (set when their entry is released)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadOfReleasedFiles",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket_name}/files/*",
                "Condition": {
                    "StringEquals": {f"s3:ExistingObjectTag/{PUBLIC_TAG[0]}": PUBLIC_TAG[1]}
                },
            }
        ],
    }


def cors_rules(web_origins: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "AllowedOrigins": web_origins,
            "AllowedMethods": ["GET", "PUT", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag", "x-amz-checksum-sha256", "x-amz-version-id"],
            "MaxAgeSeconds": 3600,
        }
    ]


def lifecycle_rules() -> list[dict[str, Any]]:
    return [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": MULTIPART_ABORT_DAYS},
        }
    ]


def bucket_setup(*, web_origins: list[str]) -> list[str]:
    """Bring the bucket to the state seqvault needs; safe to run any number of times."""
    s3, name = client(), bucket()
    done: list[str] = []
    with translated_errors("prepare the bucket"):
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if not _is_not_found(exc) and exc.response["Error"].get("Code") != "NoSuchBucket":
                raise
            region = s3.meta.region_name
            if region and region != "us-east-1":
                s3.create_bucket(
                    Bucket=name,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                s3.create_bucket(Bucket=name)
            done.append(f"created bucket {name}")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        done.append("versioning enabled")
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={"CORSRules": cors_rules(web_origins)},  # type: ignore[typeddict-item]
        )
        done.append(f"CORS for {', '.join(web_origins) or 'no origin'} (exposes ETag)")
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read_policy(name)))
        done.append("public read of objects tagged public=true")
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": lifecycle_rules()},  # type: ignore[typeddict-item]
        )
        done.append(f"abort multipart uploads after {MULTIPART_ABORT_DAYS} days")
    return done


# --- projects: session uploads, staging and temporary credentials ----------------------------
# Upload sessions (projects/) hand out PUT URLs that a client may use again until the session's
# deadline: ArtifactDB clients send the bytes and nothing else, so no If-None-Match is signed.
# Where the endpoint offers STS (MinIO, AWS), a session may instead get credentials limited to
# one staging prefix; its objects are copied to `files/<uuid>` (server-side) at completion.

STS_MAX_DURATION = timedelta(hours=12)  # the most AWS STS grants
STS_MIN_DURATION = timedelta(minutes=15)  # the least AWS STS grants
_DELETE_BATCH = 1000


def presign_session_put(
    *,
    key: str,
    size: int | None,
    sha256_hex: str | None,
    lifetime: timedelta,
    now: datetime | None = None,
) -> PresignedRequest:
    """A PUT usable until it expires; bound to the size and SHA-256 when they were declared."""
    now = now or datetime.now(UTC)
    headers: dict[str, str] = {}
    if size is not None:
        headers["Content-Length"] = str(size)
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    seconds = int(lifetime.total_seconds())
    url = _signer().sign(
        method="PUT", key=key, expires_in=seconds, headers=headers, params={}, now=now
    )
    return PresignedRequest(url, "PUT", headers, now + timedelta(seconds=seconds))


def read_object(*, key: str, max_bytes: int, version_id: str = "") -> bytes | None:
    """The object's bytes (None when absent); an object over `max_bytes` is refused unread."""
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    with translated_errors("read an object"):
        try:
            response = client().get_object(**kwargs)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
        if int(response["ContentLength"]) > max_bytes:
            response["Body"].close()
            raise ApplicationError(
                "object_too_large",
                f"{key} holds {response['ContentLength']} bytes, more than {max_bytes}.",
                status=422,
            )
        return bytes(response["Body"].read())


def _versions_under(prefix: str) -> Iterator[tuple[str, str]]:
    """(key, version ID) of every version and delete marker whose key starts with `prefix`."""
    paginator = client().get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield item["Key"], item.get("VersionId") or "null"


def _delete_versions(found: list[tuple[str, str]]) -> int:
    s3, name = client(), bucket()
    for start in range(0, len(found), _DELETE_BATCH):
        batch = found[start : start + _DELETE_BATCH]
        s3.delete_objects(
            Bucket=name,
            Delete={
                "Objects": [{"Key": key, "VersionId": version} for key, version in batch],
                "Quiet": True,
            },
        )
    return len(found)


def delete_object_versions(*, key: str) -> int:
    """Remove every version of one object for good (purged and expired uploads; DESIGN rule 2
    allows it only for those, after their grace period). Answers how many were removed."""
    with translated_errors("delete an object"):
        return _delete_versions([item for item in _versions_under(key) if item[0] == key])


def delete_prefix(*, prefix: str) -> int:
    """Remove every version of every object under a staging prefix."""
    if not prefix.endswith("/") or prefix.startswith("files/"):
        raise ValueError(f"not a staging prefix: {prefix!r}")
    with translated_errors("delete staged objects"):
        return _delete_versions(list(_versions_under(prefix)))


def list_keys(*, prefix: str) -> dict[str, int]:
    """The current objects under a prefix, key to size."""
    found: dict[str, int] = {}
    with translated_errors("list objects"):
        paginator = client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = int(item["Size"])
    return found


def copy_object(*, source_key: str, dest_key: str) -> None:
    """Server-side copy (multipart beyond 5 GiB: no byte passes through us), asking S3 for a
    SHA-256 of the copy."""
    name = bucket()
    with translated_errors("copy an object"):
        client().copy(
            CopySource={"Bucket": name, "Key": source_key},
            Bucket=name,
            Key=dest_key,
            ExtraArgs={"ChecksumAlgorithm": "SHA256"},
        )


def sts_session_policy(*, bucket_name: str, prefix: str) -> dict[str, Any]:
    """The session policy of temporary upload credentials: objects under `prefix` only (write,
    read back, multipart), and listing of that prefix alone."""
    prefix = prefix.rstrip("/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SessionObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": f"arn:aws:s3:::{bucket_name}/{prefix}/*",
            },
            {
                "Sid": "SessionListing",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket_name}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
        ],
    }


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    session_name: str


def sts_duration(lifetime: timedelta) -> int:
    """Seconds to ask STS for: what the caller needs, within what STS grants (15 min to 12 h)."""
    wanted = min(max(lifetime, STS_MIN_DURATION), STS_MAX_DURATION)
    return int(wanted.total_seconds())


def sts_assume_role_params(
    *, bucket_name: str, prefix: str, lifetime: timedelta, session_name: str
) -> dict[str, Any]:
    """What is sent to STS AssumeRole: the role, the session policy of `prefix`, the duration."""
    return {
        "RoleArn": settings.S3_STS_ROLE_ARN,
        "RoleSessionName": session_name,
        "Policy": json.dumps(sts_session_policy(bucket_name=bucket_name, prefix=prefix)),
        "DurationSeconds": sts_duration(lifetime),
    }


def _sts_unavailable(reason: str) -> ApplicationError:
    return ApplicationError(
        "sts_unavailable",
        f"This object store offers no temporary credentials ({reason}); use the "
        "s3-presigned-url or multipart mode.",
        status=501,
    )


def sts_credentials(*, prefix: str, lifetime: timedelta, session_name: str) -> TemporaryCredentials:
    """AssumeRole with the session policy of `prefix`; 501 sts_unavailable where the endpoint
    offers no STS (LocalStack's S3 alone, a plain S3 server) or STS is switched off."""
    import boto3  # only here: nothing else in the application needs an STS client

    if not settings.S3_STS_ENABLED:
        raise _sts_unavailable("switched off by S3_STS_ENABLED")
    s3 = client()
    frozen = s3._request_signer._credentials.get_frozen_credentials()  # type: ignore[attr-defined]
    sts = boto3.session.Session().client(
        "sts",
        endpoint_url=settings.S3_STS_ENDPOINT_URL,
        region_name=s3.meta.region_name or "us-east-1",
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )
    params = sts_assume_role_params(
        bucket_name=bucket(), prefix=prefix, lifetime=lifetime, session_name=session_name
    )
    try:
        response = sts.assume_role(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 and status != 501:
            raise StorageUnavailableError("The object store's STS failed.") from exc
        raise _sts_unavailable(f"{status} {code}".strip()) from exc
    except BotoCoreError as exc:
        raise StorageUnavailableError("The object store's STS is unreachable.") from exc
    issued = response["Credentials"]
    return TemporaryCredentials(
        access_key_id=issued["AccessKeyId"],
        secret_access_key=issued["SecretAccessKey"],
        session_token=issued["SessionToken"],
        expiration=issued["Expiration"],
        session_name=session_name,
    )
