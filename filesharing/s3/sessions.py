"""Upload sessions of projects: reusable PUT URLs, staging prefixes, temporary credentials."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from core.errors import ApplicationError, StorageUnavailableError
from filesharing.s3.base import (
    bucket,
    client,
    client_with,
    compact_json,
    is_not_found,
    translated_errors,
)
from filesharing.s3.checksums import sha256_b64
from filesharing.s3.presign import PresignedRequest, signer

if TYPE_CHECKING:
    pass


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
    # No guard headers: these clients send the bytes and nothing else. The bucket policy
    # refuses tagged writes and public ACLs, and verification removes any tag.
    headers: dict[str, str] = {}
    if size is not None:
        headers["Content-Length"] = str(size)
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    seconds = int(lifetime.total_seconds())
    url = signer().sign(
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
            if is_not_found(exc):
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


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    is_delete_marker: bool


def list_object_versions(*, prefix: str) -> Iterator[list[ObjectVersion]]:
    """Every version and delete marker under a prefix, a page (up to 1000) at a time."""
    with translated_errors("list object versions"):
        paginator = client().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
            yield [
                *(
                    ObjectVersion(item["Key"], item.get("VersionId") or "null", False)
                    for item in page.get("Versions", [])
                ),
                *(
                    ObjectVersion(item["Key"], item.get("VersionId") or "null", True)
                    for item in page.get("DeleteMarkers", [])
                ),
            ]


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
    SHA-256 of the copy. The copy gets no tags: S3 would otherwise copy whatever tags the
    holder of temporary credentials put on the staged object (`public=true`, say)."""
    name = bucket()
    with translated_errors("copy an object"):
        client_with(read_timeout=settings.S3_COPY_READ_TIMEOUT_SECONDS).copy(
            CopySource={"Bucket": name, "Key": source_key},
            Bucket=name,
            Key=dest_key,
            ExtraArgs={"ChecksumAlgorithm": "SHA256", "TaggingDirective": "REPLACE", "Tagging": ""},
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
        "Policy": compact_json(sts_session_policy(bucket_name=bucket_name, prefix=prefix)),
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
