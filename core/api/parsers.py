"""The API's JSON parser: bounded in size like Django's own form parsing, and strict about
what JSON may hold (core.strict_json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, get_encoding  # type: ignore[attr-defined]

from core import strict_json
from core.errors import ApplicationError


class RequestTooLargeError(ApplicationError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            "request_too_large",
            f"The request body is larger than {limit} bytes.",
            details={"limit": limit},
        )


def body_limit() -> int | None:
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE bounds every body read into memory (None: no bound)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_bounded(stream: IO[Any]) -> bytes:
    limit = body_limit()
    raw: bytes = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(raw) > limit:
        raise RequestTooLargeError(limit)
    return raw


class StrictJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = get_encoding(parser_context or {})
        raw = read_bounded(stream)
        try:
            return strict_json.loads(raw.decode(encoding))
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None


class BoundedFormParser(FormParser):
    """DRF's form parser reads the whole body; this one stops at Django's limit. Too many
    fields raise Django's TooManyFieldsSent, answered 400 `too_many_fields`."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = get_encoding(parser_context or {})
        return QueryDict(read_bounded(stream), encoding=encoding)
