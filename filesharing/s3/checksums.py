"""SHA-256 and MD5 digests as S3 speaks them (base64) and as we record them (hex)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from core.errors import ApplicationError

if TYPE_CHECKING:
    pass


def sha256_hex_from_any(value: str) -> str:
    """Accept a SHA-256 as 64 hex digits or as 44 base64 characters; return lowercase hex."""
    return _hex_from_any(value, size=32, name="SHA-256", code="invalid_sha256")


def md5_hex_from_any(value: str) -> str:
    """Accept an MD5 as 32 hex digits or as 24 base64 characters; return lowercase hex."""
    return _hex_from_any(value, size=16, name="MD5", code="invalid_md5")


def _hex_from_any(value: str, *, size: int, name: str, code: str) -> str:
    text = value.strip()
    if len(text) == 2 * size:
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
    if len(raw) != size:
        raise ApplicationError(
            code,
            f"{value!r} is not a valid {name} digest ({2 * size} hex digits or base64 of "
            f"{size} bytes).",
        )
    return raw.hex()


def sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def md5_b64(hex_digest: str) -> str:
    """Content-MD5 as S3 wants it."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def md5_from_etag(etag: str) -> str | None:
    """S3's ETag of an object written by one PUT (or one copy) is the MD5 of its bytes; a
    multipart object's ("<hex>-<parts>") or an encrypted one's is not."""
    text = etag.strip('"').lower()
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return text
    return None
