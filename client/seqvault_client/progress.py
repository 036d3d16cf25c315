"""What the command shows while it works.

On a terminal: one line for the whole command, redrawn: files done, bytes, rate, ETA and what is
being waited for. When stderr is not a terminal (batch jobs, logs): the same facts on a
timestamped line every 10 s while the command runs, so a log shows it is alive and how far it
got. Notices (waits the user should know of) go through logging and are shown once each.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import TextIO

from seqvault_client.sizes import format_duration, format_size

REFRESH_SECONDS = 0.2
# SEQVAULT_PROGRESS_SECONDS changes the interval of the line written when not on a terminal.
LOG_INTERVAL_SECONDS = 10.0


def _interval() -> float:
    try:
        return max(0.1, float(os.environ.get("SEQVAULT_PROGRESS_SECONDS", LOG_INTERVAL_SECONDS)))
    except ValueError:
        return LOG_INTERVAL_SECONDS


class Board:
    """Thread-safe counters of one command's transfers, and their display (none when `stream`
    is None). Bytes `skip`ped (already there: resume, same content) move the total, not the
    rate."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None) -> None:
        self.stream = stream
        self.terminal = (
            bool(terminal)
            if terminal is not None
            else bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        )
        self.files_total = 0
        self.files_done = 0
        self.bytes_total = 0
        self.bytes_done = 0
        self.moved = 0
        self.label = ""
        self.status = ""
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if stream is not None and not self.terminal:
            self._ticker = threading.Thread(target=self._tick, args=(_interval(),), daemon=True)
            self._ticker.start()

    def file(self, label: str, total: int) -> Progress:
        with self._lock:
            self.files_total += 1
            self.bytes_total += total
        return Progress(self, label, total)

    def expect(self, files: int, size: int) -> None:
        """Announce files to come, so that totals and ETA cover the whole command."""
        with self._lock:
            self.files_total += files
            self.bytes_total += size

    def count(self, moved: int, *, skipped: int = 0, label: str = "") -> None:
        with self._lock:
            self.bytes_done += moved + skipped
            self.moved += moved
            if label:
                self.label = label
        self._draw()

    def finished(self, count: int = 1) -> None:
        with self._lock:
            self.files_done += count
        self._draw()

    def set_status(self, status: str, label: str = "") -> None:
        with self._lock:
            self.status = status
            if label:
                self.label = label
        self._draw(force=True)

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.moved / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        with self._lock:
            done, total, moved = self.bytes_done, self.bytes_total, self.moved
            files = f"{self.files_done}/{self.files_total} files"
            label, status = self.label, self.status
        elapsed = time.monotonic() - self._started
        rate = moved / elapsed if elapsed > 0 else 0.0
        percent = 100 * done / total if total else 100.0
        left = (total - done) / rate if rate > 0 else 0
        text = (
            f"{files}, {format_size(done)}/{format_size(total)} ({percent:.0f}%), "
            f"{format_size(rate)}/s, ETA {format_duration(left)}"
        )
        if label:
            text += f", {label[:60]}"
        return f"{text} {status}".rstrip()

    def _draw(self, *, force: bool = False) -> None:
        if self.stream is None or not self.terminal:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REFRESH_SECONDS:
            return
        self._drawn = now
        self.stream.write("\r\x1b[K" + self.line()[:160])
        self.stream.flush()

    def _tick(self, interval: float) -> None:
        assert self.stream is not None
        while not self._stop.wait(interval):
            if not self.files_total:
                continue  # still finding out what there is to do
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.stream.write(f"{stamp} seqvault: {self.line()}\n")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(1)
        if self.stream is not None and self.terminal:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


class Progress:
    """One file's share of the board."""

    def __init__(self, board: Board, label: str, total: int) -> None:
        self.board, self.label, self.total = board, label, total
        self.done = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
        self.board.count(count, label=self.label)

    def skip(self, count: int) -> None:
        with self._lock:
            self.done += count
        self.board.count(0, skipped=count, label=self.label)

    def restart(self) -> None:
        """The file goes again from the start: what it counted no longer counts."""
        with self._lock:
            done, self.done = self.done, 0
        self.board.count(0, skipped=-done)

    def set_status(self, status: str) -> None:
        self.board.set_status(status, self.label)

    def close(self) -> None:
        self.board.finished()


class ShownOnce(logging.Filter):
    """Drops a message already shown: a wait many threads meet is told once."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        with self._lock:
            if message in self._seen:
                return False
            self._seen.add(message)
        return True


def progress_stream(quiet: bool) -> TextIO | None:
    """Progress goes to stderr: a redrawn line on a terminal, a timestamped line otherwise."""
    return None if quiet else sys.stderr
