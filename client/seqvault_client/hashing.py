"""SHA-256 of local files, read in large unbuffered chunks (hashlib releases the GIL)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

CHUNK = 4 * 1024 * 1024


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
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
