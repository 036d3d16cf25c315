"""Newline-delimited JSON, as the Loculus pipeline and released-data clients speak it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from core import strict_json

MEDIA_TYPE = "application/x-ndjson"


def ndjson_line(item: Any) -> bytes:
    return (json.dumps(item, cls=DjangoJSONEncoder, separators=(",", ":")) + "\n").encode()


def ndjson_response(items: Iterable[Any]) -> StreamingHttpResponse:
    """Stream one JSON document per line; the rows are produced while the client reads."""
    lines: Iterator[bytes] = (ndjson_line(item) for item in items)
    response = StreamingHttpResponse(lines, content_type=MEDIA_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    return response


class NdjsonParser(BaseParser):
    """A body of JSON documents, one per line; blank lines are skipped. `request.data` is
    {"lines": [(line number, document), ...]} so that refusals can name the line."""

    media_type = MEDIA_TYPE

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, list[tuple[int, Any]]]:
        items = []
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                if not text.strip():
                    continue
                items.append((number, strict_json.loads(text)))
            except ValueError as exc:  # UnicodeDecodeError is one too
                raise ParseError(f"Line {number} is not JSON: {exc}.") from exc
        return {"lines": items}


class NdjsonRenderer(BaseRenderer):
    """For error answers to clients that accept only NDJSON: the error on one line."""

    media_type = MEDIA_TYPE
    format = "ndjson"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        items = data if isinstance(data, list) else [data]
        return b"".join(ndjson_line(item) for item in items)
