"""The one error type that services raise; the API turns it into a stable JSON error."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refused operation: `code` is stable and documented, `message` is for people."""

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if status is not None:
            self.status_code = status


class NotFoundError(ApplicationError):
    """Missing, or hidden from the caller: the two are indistinguishable on purpose."""

    status_code = 404

    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(f"{what}_not_found", f"No {what.replace('_', ' ')} {identifier}.")


class StorageUnavailableError(ApplicationError):
    status_code = 503

    def __init__(self, message: str = "The object store is unavailable; try again later.") -> None:
        super().__init__("storage_unavailable", message)
