"""What can go wrong, as exceptions a pipeline can catch."""

from __future__ import annotations

from typing import Any


class SeqvaultError(Exception):
    """Any failure the client reports; the message is meant for people."""


class ApiError(SeqvaultError):
    """The seqvault server refused a request: its HTTP status and stable error code."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class TransferError(SeqvaultError):
    """Bytes could not be moved to or from the object store, even after retries."""


class FileChangedError(TransferError):
    """The local file changed while it was being sent."""


class ChecksumMismatch(SeqvaultError):
    """Downloaded bytes do not have the SHA-256 the server recorded."""


class Interrupted(SeqvaultError):
    """Stopped by the user (Ctrl-C); the transfer can be resumed."""
