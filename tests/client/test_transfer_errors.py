"""How the client names what S3 refused: an expired URL says so even where S3's body does not
(Ceph RGW answers a bare 403 AccessDenied)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from seqvault_client.transfer import _s3_error

BARE_DENIAL = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message></Message></Error>"


def _answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    return response


def test_a_403_after_the_urls_expiry_names_the_expiry() -> None:
    expired = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    message = _s3_error(_answer(403, BARE_DENIAL), {"url": "u", "expiresAt": expired})
    assert message == f"403 AccessDenied: the URL expired at {expired}"


def test_a_403_before_the_expiry_is_only_the_refusal() -> None:
    valid = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert _s3_error(_answer(403, BARE_DENIAL), {"url": "u", "expiresAt": valid}) == (
        "403 AccessDenied"
    )
