"""Presigned URLs, signed here with AWS Signature V4 directly (query-string form) rather than
through botocore's generic request pipeline: the signature is the same, but a request for a
thousand uploads costs a thousand HMACs instead of a thousand botocore request builds. The URL
prefix (scheme, host, bucket addressing) is still taken from botocore, once per client."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.files.storage import storages

from filesharing.s3.base import bucket, client, translated_errors
from filesharing.s3.checksums import md5_b64, sha256_b64

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


_UNRESERVED = "-_.~"

# Signed into every PUT URL a client gets: an uploader who adds `x-amz-tagging: public=true` or
# `x-amz-acl: public-read` (S3 servers such as Ceph RGW honour unsigned x-amz-* headers of a
# presigned request) breaks the signature instead of making unreleased bytes public. The empty
# tag set and the owner-only canned ACL are what an untouched PUT gets anyway.
UPLOAD_GUARD_HEADERS = {"x-amz-acl": "bucket-owner-full-control", "x-amz-tagging": ""}


def upload_headers(
    *, size: int | None, sha256_hex: str | None, md5_hex: str | None
) -> dict[str, str]:
    """What a PUT URL binds: the size, the digests S3 will check, and the guard headers."""
    headers = dict(UPLOAD_GUARD_HEADERS)
    if size is not None:
        headers["Content-Length"] = str(size)
    if sha256_hex:
        headers["x-amz-checksum-sha256"] = sha256_b64(sha256_hex)
    if md5_hex:
        headers["Content-MD5"] = md5_b64(md5_hex)
    return headers


@dataclass(frozen=True)
class PresignedRequest:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class _Signer:
    """SigV4 query signing with one client's credentials (any thread may sign with them): URL
    prefix and signing keys are cached."""

    def __init__(
        self, storage: object, s3: S3Client, bucket_name: str, presign_endpoint: str | None
    ) -> None:
        self.storage = storage  # STORAGES["files"] as it was when this signer was made
        self._client = s3
        self.presign_endpoint = presign_endpoint
        self.region = s3.meta.region_name or "us-east-1"
        probe = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket_name, "Key": "files/probe"}, ExpiresIn=60
        )
        parts = urlsplit(probe)
        self.scheme, self.host = parts.scheme, parts.netloc
        self.path_prefix = parts.path[: -len("files/probe")]
        if presign_endpoint:
            # Clients reach S3 under another name than the server does (e.g. a container
            # network): the signature covers the host, so sign for the clients' name.
            public = urlsplit(presign_endpoint)
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


_current: _Signer | None = None
_current_lock = threading.Lock()


def signer() -> _Signer:
    """The process's signer, made anew when the storage or the clients' endpoint changes.
    One for every thread: signing needs no connection, so a thread that only hands out URLs
    never builds an S3 client of its own (a few hundred milliseconds each)."""
    global _current
    storage, endpoint = storages["files"], settings.S3_PRESIGN_ENDPOINT_URL

    def current() -> _Signer | None:
        found = _current
        if found is None or found.storage is not storage or found.presign_endpoint != endpoint:
            return None
        return found

    found = current()
    if found is None:
        with _current_lock:
            found = current()
            if found is None:
                with translated_errors("sign a URL"):
                    found = _current = _Signer(storage, client(), bucket(), endpoint)
    return found


def warm_up() -> None:
    """Build the signer (and this thread's client) now rather than in a first request."""
    signer()


def presign_put(
    *,
    key: str,
    size: int | None,
    sha256_hex: str | None,
    content_type: str | None,
    lifetime: timedelta,
    md5_hex: str | None = None,
    now: datetime | None = None,
) -> PresignedRequest:
    """A PUT that S3 accepts only for the declared bytes (the digests given are those this S3
    checks), and only once where S3 honours If-None-Match."""
    now = now or datetime.now(UTC)
    headers = {
        "If-None-Match": "*",
        **upload_headers(size=size, sha256_hex=sha256_hex, md5_hex=md5_hex),
    }
    if content_type:
        headers["Content-Type"] = content_type
    seconds = int(lifetime.total_seconds())
    url = signer().sign(
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
    method: str = "GET",
) -> PresignedRequest:
    """A GET (or, with method HEAD, a HEAD: S3 signs the method) of the object."""
    now = now or datetime.now(UTC)
    params: dict[str, str] = {}
    if version_id:
        params["versionId"] = version_id
    if content_disposition:
        params["response-content-disposition"] = content_disposition
    seconds = int(lifetime.total_seconds())
    url = signer().sign(
        method=method, key=key, expires_in=seconds, headers={}, params=params, now=now
    )
    return PresignedRequest(url, method, {}, now + timedelta(seconds=seconds))


def public_url(*, key: str, base: str | None, version_id: str = "") -> str:
    """The unsigned URL of an object version the bucket policy makes public (tag public=true).
    Naming the version keeps the URL on the verified bytes whatever is written to the key later."""
    query = f"?versionId={quote(version_id, safe='')}" if version_id else ""
    if base:
        return f"{base.rstrip('/')}/{quote(key, safe='/')}{query}"
    current = signer()
    return f"{current.scheme}://{current.host}{current.path_prefix}{quote(key, safe='/')}{query}"
