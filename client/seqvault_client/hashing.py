"""SHA-256 of local files, read in large unbuffered chunks (hashlib releases the GIL)."""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path

CHUNK = 4 * 1024 * 1024
READ_INTO = 1024 * 1024


def sha256_of_file(path: Path) -> str:
    """Read into one buffer, refilled: several files hashed at once hold a MiB each, not a
    fresh chunk per read."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(READ_INTO))
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(buffer[:count])
    return digest.hexdigest()


class FrontierHasher:
    """SHA-256 of a file written out of order in fixed chunks (a parallel download): a thread
    hashes each chunk as soon as it and every chunk before it are there, reading it back from
    the page cache, so the digest is ready moments after the last byte arrives."""

    def __init__(self, path: Path, *, chunk_size: int, size: int) -> None:
        self.path, self.chunk_size, self.size = path, chunk_size, size
        self.count = max(1, -(-size // chunk_size))
        self._done: set[int] = set()
        self._changed = threading.Condition()
        self._closed = False
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._complete = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def mark(self, index: int) -> None:
        with self._changed:
            self._done.add(index)
            self._changed.notify()

    def _next(self, index: int) -> bool:
        with self._changed:
            while index not in self._done and not self._closed:
                self._changed.wait()
            return index in self._done

    def _run(self) -> None:
        try:
            with self.path.open("rb", buffering=0) as handle:
                for index in range(self.count):
                    if not self._next(index):
                        return
                    start = index * self.chunk_size
                    left = min(self.chunk_size, self.size - start)
                    handle.seek(start)
                    while left > 0:
                        data = handle.read(min(CHUNK, left))
                        if not data:
                            raise OSError(f"{self.path} is shorter than {self.size} bytes")
                        self._digest.update(data)
                        left -= len(data)
            self._complete = True
        except BaseException as exc:
            self._error = exc

    def hexdigest(self) -> str:
        """Once every chunk is marked: the file's SHA-256."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._complete:
            raise RuntimeError("hashing stopped before the last chunk")
        return self._digest.hexdigest()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()


class BesideSha256:
    """A SHA-256 computed in a thread of its own from buffers another thread has just filled
    (hashlib releases the GIL, so it runs beside whatever that thread does next). `update`
    hands over a view of a buffer; `free()` gives a buffer back once the digest is done with
    it, so the caller rotates two buffers and never copies."""

    def __init__(self, *, buffers: int = 2, size: int = 1024 * 1024) -> None:
        self._digest = hashlib.sha256()
        self._free: queue.Queue[memoryview] = queue.Queue()
        for _ in range(buffers):
            self._free.put(memoryview(bytearray(size)))
        self._given: queue.Queue[tuple[memoryview, memoryview] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def buffer(self) -> memoryview:
        """A buffer to fill; waits while both are being hashed."""
        return self._free.get()

    def update(self, buffer: memoryview, filled: memoryview) -> None:
        """Hash `filled` (a view of `buffer`); the buffer comes back from `buffer()` after."""
        self._given.put((buffer, filled))

    def give_back(self, buffer: memoryview) -> None:
        """A buffer taken and not handed over."""
        self._free.put(buffer)

    def _run(self) -> None:
        while (item := self._given.get()) is not None:
            buffer, filled = item
            self._digest.update(filled)
            self._free.put(buffer)

    def hexdigest(self) -> str:
        self._given.put(None)
        self._thread.join()
        return self._digest.hexdigest()

    def close(self) -> None:
        self._given.put(None)
