"""An HTTP forward proxy that injects the faults a long upload meets: 5xx answers, connections
dropped in the middle of a body, bytes damaged on the way, and delays (which let presigned URLs
expire). The client is pointed at it with HTTP_PROXY, as a user behind a proxy would be; S3 and
the API stay real. It also times every request it forwards, so a test sees what was in flight
at once."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

STALL_SECONDS = 5.0
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}

# A rule sees (method, url, attempt number of this method, path and part) and answers what to do:
# None (forward), "500", "429" (an API answer asking to wait a second), "drop" (close the socket
# mid-body), "stall" (take the whole request, never forward it, hang up after a few seconds),
# "corrupt" (forward it with one byte of its body changed, or, for a request without a body,
# change one byte of the answer) or a delay in seconds (float) before forwarding.
Rule = Callable[[str, str, int], str | float | None]


@dataclass(frozen=True)
class Span:
    """A forwarded request, from its arrival to the upstream answer (before it is relayed)."""

    method: str
    url: str
    started: float
    finished: float

    @property
    def key(self) -> str:
        return urlsplit(self.url).path


def most_at_once(spans: Iterable[Span]) -> tuple[int, int]:
    """The most requests in flight at one moment, and the most distinct objects among them."""
    spans = list(spans)
    most, objects = 0, 0
    for span in spans:
        now = [other for other in spans if other.started <= span.started < other.finished]
        most = max(most, len(now))
        objects = max(objects, len({other.key for other in now}))
    return most, objects


def flip_one_byte(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0xFF
    return bytes(changed)


class FaultProxy:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, str]] = []  # (method, url, what happened)
        self.spans: list[Span] = []  # every request forwarded upstream
        self._lock = threading.Lock()
        self._upstream = requests.Session()
        self._upstream.trust_env = False

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _relay(self) -> None:
                started = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                key = (self.command, urlsplit(self.path).path, part_number(self.path))
                with proxy._lock:
                    proxy.attempts[key] += 1
                    attempt = proxy.attempts[key]
                action = proxy.rule(self.command, self.path, attempt)
                if action == "drop":
                    self.rfile.read(length // 2)
                    proxy.log.append((self.command, self.path, "drop"))
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length else None
                if action == "stall":
                    proxy.log.append((self.command, self.path, "stall"))
                    time.sleep(STALL_SECONDS)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if action == "500":
                    proxy.log.append((self.command, self.path, "500"))
                    self._answer(
                        500,
                        {"Content-Type": "application/xml"},
                        b"<Error><Code>InternalError</Code></Error>",
                    )
                    return
                if action == "429":
                    proxy.log.append((self.command, self.path, "429"))
                    error = {"error": {"code": "too_many_pending_uploads", "message": "Busy."}}
                    self._answer(
                        429,
                        {"Content-Type": "application/json", "Retry-After": "1"},
                        json.dumps(error).encode(),
                    )
                    return
                if isinstance(action, float):
                    time.sleep(action)
                if action == "corrupt" and body:
                    body = flip_one_byte(body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = proxy._upstream.request(
                    self.command,
                    self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=120,
                )
                with proxy._lock:
                    proxy.spans.append(Span(self.command, self.path, started, time.monotonic()))
                content = upstream.content
                if action == "corrupt" and not body and content:
                    content = flip_one_byte(content)
                outcome = str(upstream.status_code) + (" corrupt" if action == "corrupt" else "")
                proxy.log.append((self.command, self.path, outcome))
                reply = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() not in HOP_BY_HOP | {"content-length", "content-encoding"}
                }
                self._answer(upstream.status_code, reply, content)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _relay

        return Handler

    def part_puts(self) -> list[tuple[int, str]]:
        """(part number, outcome) of every part PUT that reached the proxy, in order."""
        return [
            (int(parse_qs(urlsplit(url).query)["partNumber"][0]), what)
            for method, url, what in self.log
            if method == "PUT" and "partNumber=" in url
        ]


@contextmanager
def fault_proxy(rule: Rule) -> Iterator[tuple[str, FaultProxy]]:
    proxy = FaultProxy(rule)
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", proxy
    finally:
        server.shutdown()
        server.server_close()
        # Its keep-alive connections hold server threads (and their database sessions) open.
        proxy._upstream.close()


def part_number(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("partNumber")
    return int(values[0]) if values else None


def parts_held_a_second(method: str, url: str, attempt: int) -> float | None:
    """A rule for fault_proxy: every part PUT is held one second on its way."""
    return 1.0 if method == "PUT" and part_number(url) else None
