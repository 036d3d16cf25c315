"""The parts of one multipart upload, in flight at once.

One thread reads the file in order, computing each part's SHA-256 and the whole file's in the
same pass (the file is read from disk once for hashing; the senders read each part again
moments later, from the page cache). Part URLs are asked for in batches, each signed with its
part's digest, and up to `jobs` sender threads stream parts to S3.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqvault_client.errors import FileChangedError, Interrupted
from seqvault_client.http import Api
from seqvault_client.progress import Progress
from seqvault_client.transfer import Transfer

log = logging.getLogger("seqvault")

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Part:
    number: int
    offset: int
    length: int


@dataclass(frozen=True)
class HeldPart:
    """A part S3 already holds (from the server's list)."""

    size: int
    etag: str
    sha256: str | None


def layout(*, size: int, part_size: int, part_count: int) -> list[Part]:
    return [
        Part(n, (n - 1) * part_size, min(part_size, size - (n - 1) * part_size))
        for n in range(1, part_count + 1)
    ]


class PartPipeline:
    def __init__(
        self,
        *,
        api: Api,
        transfer: Transfer,
        path: Path,
        upload_id: str,
        parts: list[Part],
        held: dict[int, HeldPart],
        progress: Progress,
        jobs: int,
        part_md5: bool = False,
    ) -> None:
        self.api, self.transfer = api, transfer
        self.part_md5 = part_md5
        self.path, self.upload_id = path, upload_id
        self.parts, self.held = parts, held
        self.progress, self.jobs = progress, jobs
        self.stop = threading.Event()
        self.work: queue.Queue[tuple[Part, dict[str, Any]] | None] = queue.Queue(jobs * 2)
        self.etags: dict[int, str] = {}
        self.sent: list[int] = []
        self.whole_sha256 = ""
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    def run(self) -> tuple[dict[int, str], str]:
        """Send every part S3 lacks; returns part number → ETag and the file's SHA-256."""
        from seqvault_client.transfer import wait_interruptibly

        fd = os.open(self.path, os.O_RDONLY)
        try:
            threads = [threading.Thread(target=self._guard, args=(self._hash_and_dispatch,))]
            threads += [
                threading.Thread(target=self._guard, args=(self._send_loop, fd))
                for _ in range(self.jobs)
            ]
            for thread in threads:
                thread.daemon = True
                thread.start()
            wait_interruptibly(threads, self.stop)
        finally:
            os.close(fd)
        if self._error is not None:
            raise self._error
        if self.stop.is_set():
            raise Interrupted("stopped")
        return self.etags, self.whole_sha256

    def _guard(self, target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:  # the first failure stops everything and is re-raised
            with self._lock:
                if self._error is None and not isinstance(exc, Interrupted):
                    self._error = exc
            self.stop.set()

    # --- reading and hashing, in file order --------------------------------------------------

    def _hash_and_dispatch(self) -> None:
        whole = hashlib.sha256()
        batch: list[tuple[Part, dict[str, str]]] = []
        buffer = bytearray(READ_CHUNK)
        view = memoryview(buffer)
        with self.path.open("rb", buffering=0) as handle:
            for part in self.parts:
                digests = self._hash_part(handle, view, part, whole)
                held = self.held.get(part.number)
                if held and held.size == part.length and held.sha256 in (digests["sha256"], None):
                    self.etags[part.number] = held.etag
                    self.progress.skip(part.length)
                    continue
                batch.append((part, digests))
                if len(batch) >= self.jobs or self.work.empty():
                    self._dispatch(batch)
                    batch = []
        self._dispatch(batch)
        self.whole_sha256 = whole.hexdigest()
        for _ in range(self.jobs):
            self._put(None)

    def _hash_part(self, handle: Any, view: memoryview, part: Part, whole: Any) -> dict[str, str]:
        """The part's digests as the server asks for them: sha256, and md5 for MD5 uploads."""
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False) if self.part_md5 else None
        remaining = part.length
        while remaining:
            if self.stop.is_set():
                raise Interrupted("stopped")
            count = handle.readinto(view[: min(READ_CHUNK, remaining)])
            if not count:
                raise FileChangedError(f"{self.path} became shorter while it was being read")
            digest.update(view[:count])
            whole.update(view[:count])
            if md5 is not None:
                md5.update(view[:count])
            remaining -= count
        found = {"sha256": digest.hexdigest()}
        if md5 is not None:
            found["md5"] = md5.hexdigest()
        return found

    def _dispatch(self, batch: list[tuple[Part, dict[str, str]]]) -> None:
        if not batch:
            return
        by_number = {part.number: part for part, _ in batch}
        answer = self.api.post(
            f"multipart_uploads/{self.upload_id}/parts",
            {"parts": [{"partNumber": p.number, **d} for p, d in batch]},
        )
        for item in answer["parts"]:
            self._put((by_number[item["partNumber"]], item))

    def _put(self, item: tuple[Part, dict[str, Any]] | None) -> None:
        while True:
            if self.stop.is_set():
                raise Interrupted("stopped")
            try:
                self.work.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    # --- sending ----------------------------------------------------------------------------

    def _send_loop(self, fd: int) -> None:
        while True:
            try:
                item = self.work.get(timeout=0.2)
            except queue.Empty:
                if self.stop.is_set():
                    return
                continue
            if item is None:
                return
            self._send(fd, *item)

    def _send(self, fd: int, part: Part, target: dict[str, Any]) -> None:
        signed = {
            "sha256": target["headers"].get("x-amz-checksum-sha256"),
            "md5": target["headers"].get("Content-MD5"),
        }

        def refresh() -> dict[str, Any]:
            body = {name: value for name, value in signed.items() if value}
            return dict(
                self.api.post(
                    f"multipart_uploads/{self.upload_id}/part/{part.number}/presigned_post", body
                )
            )

        response = self.transfer.put(
            target=target,
            refresh=refresh,
            fd=fd,
            offset=part.offset,
            length=part.length,
            progress=self.progress,
            stop=self.stop,
            what=f"{self.path.name} part {part.number}",
        )
        with self._lock:
            self.etags[part.number] = response.headers.get("ETag", "").strip('"')
            self.sent.append(part.number)
        log.info("%s: part %d sent (%d bytes)", self.path.name, part.number, part.length)
