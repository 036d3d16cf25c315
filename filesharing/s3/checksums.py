"""SHA-256 digests as S3 speaks them (base64) and as we record them (hex)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from core.errors import ApplicationError

if TYPE_CHECKING:
    pass


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
