"""Moving bytes between a local file and S3 through presigned URLs, streamed from disk in
small chunks (memory stays flat whatever the size), retried on 5xx, timeouts, dropped
connections and expired URLs."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from seqvault_client.errors import FileChangedError, Interrupted, TransferError
from seqvault_client.http import CONNECTION_ERRORS, RETRYABLE_STATUS, backoff, new_session
from seqvault_client.progress import Progress

log = logging.getLogger("seqvault")

CHUNK = 256 * 1024
# Connect quickly; a read may wait while S3 digests a large part.
TIMEOUT = (15.0, 300.0)
# A URL this close to its expiry is renewed before a retry rather than tried again.
EXPIRY_MARGIN = timedelta(seconds=30)

Target = dict[str, Any]  # {"url", "headers", "expiresAt"} as the API answers


class FileRange:
    """A request body read from `fd` at [offset, offset + length), chunk by chunk."""

    def __init__(
        self, fd: int, offset: int, length: int, progress: Progress, stop: threading.Event
    ) -> None:
        self.fd, self.offset, self.length = fd, offset, length
        self.progress, self.stop = progress, stop
        self.sent = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[memoryview]:
        # One buffer per request, refilled: the HTTP client sends each piece before it asks for
        # the next, so nothing is allocated per chunk (and no per-thread heap grows).
        buffer = bytearray(min(CHUNK, self.length) or 1)
        view = memoryview(buffer)
        position, end = self.offset, self.offset + self.length
        while position < end:
            if self.stop.is_set():
                raise Interrupted("stopped")
            count = os.preadv(self.fd, [view[: min(CHUNK, end - position)]], position)
            if not count:
                raise FileChangedError("the file became shorter while it was being sent")
            position += count
            self.sent += count
            self.progress.add(count)
            yield view[:count]


def _expires_soon(target: Target) -> bool:
    text = target.get("expiresAt")
    if not text:
        return False
    try:
        expires = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return False
    return expires - datetime.now(UTC) < EXPIRY_MARGIN


def _expired(target: Target) -> bool:
    text = target.get("expiresAt")
    try:
        expires = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return False
    return expires <= datetime.now(UTC)


def _s3_error(response: requests.Response, target: Target | None = None) -> str:
    """S3's status and code; a 403 past the URL's expiry says so (Ceph RGW's body does not)."""
    text = response.text
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""
    found = f"{response.status_code} {code}".strip()
    if response.status_code == 403 and target is not None and _expired(target):
        found += f": the URL expired at {target['expiresAt']}"
    return found


class Transfer:
    """S3 requests; one plain session per thread (presigned URLs carry no token)."""

    def __init__(self, *, pool_size: int, max_attempts: int = 8, backoff_base: float = 0.5):
        self.pool_size = pool_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._local = threading.local()

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session(self.pool_size)
        return session

    def _sleep(self, attempt: int, stop: threading.Event) -> None:
        if stop.wait(backoff(attempt, base=self.backoff_base)):
            raise Interrupted("stopped")

    def put(
        self,
        *,
        target: Target,
        refresh: Callable[[], Target] | None,
        fd: int,
        offset: int,
        length: int,
        progress: Progress,
        stop: threading.Event,
        what: str,
    ) -> requests.Response:
        """PUT a byte range; `refresh` asks the server for a fresh URL when one expired."""
        problem = "no attempt"
        for attempt in range(self.max_attempts):
            if refresh is not None and attempt and _expires_soon(target):
                target = refresh()
            body = FileRange(fd, offset, length, progress, stop)
            try:
                response = self.session().put(
                    target["url"],
                    data=body if length else b"",
                    headers=target["headers"],
                    timeout=TIMEOUT,
                )
            except CONNECTION_ERRORS as exc:
                progress.add(-body.sent)
                problem = type(exc).__name__
                log.info("%s: %s; retrying", what, problem)
                self._sleep(attempt, stop)
                continue
            if response.status_code in (200, 412):
                # 412: a single PUT (If-None-Match) that already arrived on an earlier attempt.
                return response
            progress.add(-body.sent)
            problem = _s3_error(response, target)
            if response.status_code == 403 and refresh is not None:
                log.info("%s: %s (URL expired?); asking for a fresh URL", what, problem)
                target = refresh()
                continue
            if response.status_code == 400 and "BadDigest" in response.text:
                raise FileChangedError(
                    f"{what}: the bytes read differ from those hashed moments before; "
                    "did the file change while it was being sent?"
                )
            if response.status_code in RETRYABLE_STATUS or response.status_code == 429:
                log.info("%s: %s; retrying", what, problem)
                self._sleep(attempt, stop)
                continue
            raise TransferError(f"{what}: the object store refused it ({problem}).")
        raise TransferError(f"{what}: gave up after {self.max_attempts} attempts ({problem}).")

    def get_range(
        self,
        *,
        target: Target,
        refresh: Callable[[], Target],
        start: int,
        end: int,
        write: Callable[[int, bytes], object],
        progress: Progress,
        stop: threading.Event,
        what: str,
    ) -> None:
        """GET bytes [start, end] and hand them to `write(offset, data)` as they arrive."""
        problem = "no attempt"
        for attempt in range(self.max_attempts):
            if attempt and _expires_soon(target):
                target = refresh()
            received = 0
            try:
                with self.session().get(
                    target["url"],
                    headers={"Range": f"bytes={start}-{end}"},
                    stream=True,
                    timeout=TIMEOUT,
                ) as response:
                    if response.status_code == 206 or (response.status_code == 200 and start == 0):
                        for data in response.iter_content(CHUNK):
                            if stop.is_set():
                                raise Interrupted("stopped")
                            write(start + received, data)
                            received += len(data)
                            progress.add(len(data))
                        if received == end - start + 1:
                            return
                        problem = f"short read ({received} of {end - start + 1} bytes)"
                    else:
                        problem = _s3_error(response, target)
                        if response.status_code == 403:
                            progress.add(-received)
                            log.info("%s: %s (URL expired?); asking again", what, problem)
                            target = refresh()
                            continue
                        if response.status_code not in RETRYABLE_STATUS | {429}:
                            raise TransferError(f"{what}: the object store refused it ({problem}).")
            except CONNECTION_ERRORS as exc:
                problem = type(exc).__name__
            progress.add(-received)
            log.info("%s: %s; retrying", what, problem)
            self._sleep(attempt, stop)
        raise TransferError(f"{what}: gave up after {self.max_attempts} attempts ({problem}).")


def wait_interruptibly(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Join worker threads while letting Ctrl-C through to the main thread."""
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        deadline = time.monotonic() + 10
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        raise Interrupted("interrupted") from None
