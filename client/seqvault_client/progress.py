"""A progress line on a terminal (bytes, rate, ETA); nothing at all otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from seqvault_client.sizes import format_duration, format_size

REFRESH_SECONDS = 0.2


class Progress:
    """Thread-safe byte counter for one file. `skip` counts bytes already there (resume),
    which move the bar but not the rate."""

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.done = 0
        self._moved = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0
        self.status = ""

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def skip(self, count: int) -> None:
        with self._lock:
            self.done += count
        self._draw()

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
            self._moved += count
        self._draw()

    def set_status(self, status: str) -> None:
        self.status = status
        self._draw(force=True)

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self._moved / elapsed if elapsed > 0 else 0.0

    def _draw(self, *, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REFRESH_SECONDS:
            return
        self._drawn = now
        rate = self.rate()
        percent = 100 * self.done / self.total if self.total else 100
        left = (self.total - self.done) / rate if rate > 0 else 0
        width = 24
        filled = int(width * percent / 100)
        line = (
            f"\r{self.label[:40]:<40} [{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}% "
            f"{format_size(self.done)}/{format_size(self.total)} "
            f"{format_size(rate)}/s ETA {format_duration(left)} {self.status}"
        )
        self.stream.write(line[:200].ljust(120))
        self.stream.flush()

    def close(self) -> None:
        if self.stream is None:
            return
        self._draw(force=True)
        self.stream.write("\n")
        self.stream.flush()


def progress_stream(quiet: bool) -> TextIO | None:
    """Progress goes to stderr, and only when it is a terminal."""
    return sys.stderr if not quiet and sys.stderr.isatty() else None
