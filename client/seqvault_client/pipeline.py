"""The parts of multipart uploads, in flight at once.

Every large file of a command shares one pool of `jobs` sender threads (`PartSenders`), so the
parts in flight, and the memory they take (one 256 KiB buffer each, refilled, never a whole
part), stay bounded however many files go at once. Each file (`PartPipeline`) is read once, in
order, by its own thread, which computes each part's SHA-256 (and MD5 where S3 checks no
SHA-256) while a thread beside it computes the whole file's SHA-256 from the same buffers; a
third asks for part URLs in batches, each signed with its part's digest, while the reader goes
on, and hands the parts to the senders, which stream each part from disk again (from the page
cache, moments later). A failure stops only its own file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqvault_client.errors import FileChangedError, Interrupted
from seqvault_client.hashing import BesideSha256
from seqvault_client.http import Api
from seqvault_client.progress import Progress
from seqvault_client.transfer import Transfer

log = logging.getLogger("seqvault")

READ_CHUNK = 1024 * 1024
# After a stop, how long a file waits for its parts in flight to give up before it returns.
STOP_GRACE_SECONDS = 10.0


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


class PartSenders:
    """`jobs` sender threads shared by every multipart upload of a command, fed through one
    queue of `jobs` parts (a part waiting there is its number and URL, no bytes). Started on the
    first part; `close()` ends them."""

    def __init__(self, *, jobs: int) -> None:
        self.jobs = jobs
        self._work: queue.Queue[tuple[PartPipeline, Part, dict[str, Any]] | None] = queue.Queue(
            jobs
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, pipeline: PartPipeline, part: Part, target: dict[str, Any]) -> None:
        """Queue a part; waits while `jobs` parts are already waiting."""
        self._start()
        while True:
            if pipeline.stop.is_set():
                raise Interrupted("stopped")
            try:
                self._work.put((pipeline, part, target), timeout=0.2)
                return
            except queue.Full:
                continue

    def _start(self) -> None:
        with self._lock:
            if self._threads:
                return
            self._threads = [
                threading.Thread(target=self._serve, name=f"seqvault-part-{n}", daemon=True)
                for n in range(self.jobs)
            ]
            for thread in self._threads:
                thread.start()

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            pipeline, part, target = item
            pipeline.send(part, target)

    def close(self) -> None:
        """Let the senders finish what is queued (parts of stopped files are skipped), then end
        them: one end mark each, behind the parts still waiting."""
        with self._lock:
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _ in threads:
            try:
                self._work.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break  # senders stuck on the network: they are daemons, the process may end
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Signer:
    """A file's part URLs, asked for in a thread of its own while the reader hashes on: each
    call takes every part hashed since the last one (the first goes alone, at once). At most
    `jobs` hashed parts wait here."""

    def __init__(self, pipeline: PartPipeline) -> None:
        self.pipeline = pipeline
        self._waiting: queue.Queue[tuple[Part, dict[str, str]] | None] = queue.Queue(
            pipeline.senders.jobs
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._closed = False

    def add(self, part: Part, digests: dict[str, str]) -> None:
        self._put((part, digests))

    def finish(self) -> None:
        """Wait until every part added has its URL and is with the senders."""
        self.close()
        while self._thread.is_alive():
            self._thread.join(0.2)
        if self.pipeline.stop.is_set():
            raise Interrupted("stopped")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._put(None)

    def _put(self, item: tuple[Part, dict[str, str]] | None) -> None:
        while self._thread.is_alive():
            if item is not None and self.pipeline.stop.is_set():
                raise Interrupted("stopped")
            try:
                self._waiting.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        if item is not None:
            raise Interrupted("stopped")

    def _run(self) -> None:
        try:
            while (first := self._waiting.get()) is not None:
                batch, last = [first], False
                while not last:
                    try:
                        item = self._waiting.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        last = True
                    else:
                        batch.append(item)
                if not self.pipeline.stop.is_set():
                    self.pipeline.dispatch(batch)
                if last:
                    return
        except BaseException as exc:  # the file's failure, raised by its run()
            self.pipeline.fail(exc)


class PartPipeline:
    """One file's multipart upload: `run()` reads and hashes it in the calling thread, hands
    each part S3 lacks to the shared senders, and returns once every part is sent."""

    def __init__(
        self,
        *,
        api: Api,
        transfer: Transfer,
        senders: PartSenders,
        path: Path,
        upload_id: str,
        parts: list[Part],
        held: dict[int, HeldPart],
        progress: Progress,
        part_md5: bool = False,
    ) -> None:
        self.api, self.transfer, self.senders = api, transfer, senders
        self.part_md5 = part_md5
        self.path, self.upload_id = path, upload_id
        self.parts, self.held = parts, held
        self.progress = progress
        self.stop = threading.Event()
        self.etags: dict[int, str] = {}
        self.sent: list[int] = []
        self.whole_sha256 = ""
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._in_flight = 0  # handed to the senders and not yet done
        self._returned = False
        self._fd = -1
        self._error: BaseException | None = None

    def run(self) -> tuple[dict[int, str], str]:
        """Send every part S3 lacks; returns part number → ETag and the file's SHA-256."""
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            self._hash_and_dispatch()
        except BaseException as exc:  # raised below, once the parts in flight are done
            self.fail(exc)
        self._wait_for_parts()
        if self._error is not None:
            raise self._error
        if self.stop.is_set():
            raise Interrupted("stopped")
        return self.etags, self.whole_sha256

    def fail(self, exc: BaseException) -> None:
        """The first failure stops this file (its queued parts are skipped) and is re-raised."""
        with self._lock:
            if self._error is None and not isinstance(exc, Interrupted):
                self._error = exc
        self.stop.set()

    def _wait_for_parts(self) -> None:
        with self._settled:
            given_up_at = 0.0
            while self._in_flight:
                if self.stop.is_set():
                    given_up_at = given_up_at or time.monotonic() + STOP_GRACE_SECONDS
                    if time.monotonic() > given_up_at:
                        break  # a sender stuck on the network; it closes the file when done
                self._settled.wait(0.2)
            self._returned = True
            if not self._in_flight:
                os.close(self._fd)

    def _part_done(self) -> None:
        with self._settled:
            self._in_flight -= 1
            if self._returned and not self._in_flight:
                os.close(self._fd)
            self._settled.notify_all()

    # --- reading and hashing, in file order --------------------------------------------------

    def _hash_and_dispatch(self) -> None:
        """Read the file once, in order: each part's digests here, the whole file's SHA-256 in a
        thread beside (from the same buffers); the signer asks for URLs meanwhile."""
        whole = BesideSha256(size=READ_CHUNK)
        signer = _Signer(self)
        try:
            with self.path.open("rb", buffering=0) as handle:
                for part in self.parts:
                    digests = self._hash_part(handle, part, whole)
                    held = self.held.get(part.number)
                    if (
                        held
                        and held.size == part.length
                        and held.sha256
                        in (
                            digests["sha256"],
                            None,
                        )
                    ):
                        self.etags[part.number] = held.etag
                        self.progress.skip(part.length)
                        continue
                    signer.add(part, digests)
            signer.finish()
            self.whole_sha256 = whole.hexdigest()
        finally:
            signer.close()
            whole.close()

    def _hash_part(self, handle: Any, part: Part, whole: BesideSha256) -> dict[str, str]:
        """The part's digests as the server asks for them: sha256, and md5 for MD5 uploads."""
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False) if self.part_md5 else None
        remaining = part.length
        while remaining:
            if self.stop.is_set():
                raise Interrupted("stopped")
            buffer = whole.buffer()
            count = handle.readinto(buffer[: min(READ_CHUNK, remaining)])
            if not count:
                whole.give_back(buffer)
                raise FileChangedError(f"{self.path} became shorter while it was being read")
            filled = buffer[:count]
            whole.update(buffer, filled)
            digest.update(filled)
            if md5 is not None:
                md5.update(filled)
            remaining -= count
        found = {"sha256": digest.hexdigest()}
        if md5 is not None:
            found["md5"] = md5.hexdigest()
        return found

    def dispatch(self, batch: list[tuple[Part, dict[str, str]]]) -> None:
        """URLs for a batch of parts, each signed with its digests, handed to the senders."""
        by_number = {part.number: part for part, _ in batch}
        answer = self.api.post(
            f"multipart_uploads/{self.upload_id}/parts",
            {"parts": [{"partNumber": p.number, **d} for p, d in batch]},
        )
        for item in answer["parts"]:
            with self._lock:
                self._in_flight += 1
            try:
                self.senders.submit(self, by_number[item["partNumber"]], item)
            except BaseException:
                self._part_done()
                raise

    # --- sending (in a sender thread) --------------------------------------------------------

    def send(self, part: Part, target: dict[str, Any]) -> None:
        """Send one part; a failure is this file's, recorded and raised by `run()`."""
        try:
            if not self.stop.is_set():
                self._send(part, target)
        except BaseException as exc:
            self.fail(exc)
        finally:
            self._part_done()

    def _send(self, part: Part, target: dict[str, Any]) -> None:
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
            fd=self._fd,
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
