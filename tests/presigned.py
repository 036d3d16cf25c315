"""Parse a presigned URL so tests can assert its method, key, lifetime and signed headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings


@dataclass(frozen=True)
class ParsedUrl:
    bucket: str
    key: str
    expires_in: int
    signed_at: datetime
    signed_headers: list[str]
    params: dict[str, str]


def parse_presigned(url: str) -> ParsedUrl:
    parts = urlsplit(url)
    assert parts.netloc == urlsplit(settings.S3_ENDPOINT_URL).netloc, url
    _, bucket, key = parts.path.split("/", 2)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert len(query["X-Amz-Signature"]) == 64
    return ParsedUrl(
        bucket=bucket,
        key=unquote(key),
        expires_in=int(query["X-Amz-Expires"]),
        signed_at=datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
        signed_headers=query["X-Amz-SignedHeaders"].split(";"),
        params=query,
    )
