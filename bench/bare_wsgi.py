"""The baseline of the HTTP benchmarks: a WSGI app that answers a small JSON body at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"results": []}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # Read the request body as any app would, so POSTs cost the same on the wire.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
