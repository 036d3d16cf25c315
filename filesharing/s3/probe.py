"""What this S3 endpoint checks, found by trying it: a few tiny objects under `seqvault-probe/`,
removed afterwards. seqvault's integrity path follows the answer (docs/operations.md)."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from filesharing.s3.base import bucket, client, translated_errors
from filesharing.s3.presign import public_url
from filesharing.s3.sessions import delete_prefix

PROBE_PREFIX = "seqvault-probe/"
_BODY = b"seqvault probe object"


@dataclass(frozen=True)
class StoreCapabilities:
    verifies_sha256: bool  # a PUT whose x-amz-checksum-sha256 differs from its bytes is refused
    verifies_part_sha256: bool  # likewise for a part of a SHA-256 multipart upload
    verifies_md5: bool  # a PUT whose Content-MD5 differs from its bytes is refused
    honours_if_none_match: bool  # a PUT with If-None-Match: * onto an existing key is refused
    enforces_bucket_policy: bool  # an unsigned GET of an untagged object is refused
    reports_tag_count: bool  # a HEAD of a tagged object says how many tags it has


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _refused(call: Any, **kwargs: Any) -> bool:
    """True when S3 refuses the request with a 4xx (what a check that works answers)."""
    try:
        call(**kwargs)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if 400 <= status < 500:
            return True
        raise
    return False


def _part_sha256_checked(key: str) -> bool:
    s3, name = client(), bucket()
    upload_id = s3.create_multipart_upload(Bucket=name, Key=key, ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    try:
        return _refused(
            s3.upload_part,
            Bucket=name,
            Key=key,
            UploadId=upload_id,
            PartNumber=1,
            Body=_BODY,
            ChecksumSHA256=_b64(hashlib.sha256(b"other bytes").digest()),
        )
    finally:
        s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload_id)


def _anonymous_get_refused(key: str) -> bool:
    request = urllib.request.Request(public_url(key=key, base=None), method="GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the S3 endpoint
            return False
    except urllib.error.HTTPError as exc:
        return exc.code in (401, 403)


def _tag_count_reported(key: str) -> bool:
    """A HEAD says how many tags an object has, whether they came with its PUT or were set
    later, and says none once its tag set is emptied (as verification empties it)."""
    s3, name = client(), bucket()

    def count() -> int:
        return int(s3.head_object(Bucket=name, Key=key).get("TagCount") or 0)

    s3.put_object(Bucket=name, Key=key, Body=_BODY, Tagging="seqvault-probe=1")
    with_put = count()
    s3.put_object_tagging(Bucket=name, Key=key, Tagging={"TagSet": []})
    emptied = count()
    s3.put_object_tagging(
        Bucket=name, Key=key, Tagging={"TagSet": [{"Key": "seqvault-probe", "Value": "2"}]}
    )
    return (with_put, emptied, count()) == (1, 0, 1)


def probe_capabilities() -> StoreCapabilities:
    """Try each check once against the bucket; safe to run at any time."""
    s3, name = client(), bucket()
    base = f"{PROBE_PREFIX}{uuid.uuid4()}/"
    other_sha256 = _b64(hashlib.sha256(b"other bytes").digest())
    other_md5 = _b64(hashlib.md5(b"other bytes", usedforsecurity=False).digest())
    with translated_errors("probe what the object store checks"):
        try:
            s3.put_object(Bucket=name, Key=f"{base}existing", Body=_BODY)
            return StoreCapabilities(
                verifies_sha256=_refused(
                    s3.put_object,
                    Bucket=name,
                    Key=f"{base}sha256",
                    Body=_BODY,
                    ChecksumSHA256=other_sha256,
                ),
                verifies_part_sha256=_part_sha256_checked(f"{base}parts"),
                verifies_md5=_refused(
                    s3.put_object, Bucket=name, Key=f"{base}md5", Body=_BODY, ContentMD5=other_md5
                ),
                honours_if_none_match=_refused(
                    s3.put_object, Bucket=name, Key=f"{base}existing", Body=_BODY, IfNoneMatch="*"
                ),
                enforces_bucket_policy=_anonymous_get_refused(f"{base}existing"),
                reports_tag_count=_tag_count_reported(f"{base}tagged"),
            )
        finally:
            delete_prefix(prefix=base)
