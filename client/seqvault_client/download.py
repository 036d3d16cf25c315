"""Downloading files: parallel ranged GETs into `<name>.seqvault-part`, resumable from a
small state file beside it, hashed as the ranges arrive and checked against the SHA-256 the
server recorded; many files at once."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seqvault_client.config import read_json, write_json_private
from seqvault_client.errors import ChecksumMismatch, Interrupted, SeqvaultError
from seqvault_client.hashing import FrontierHasher, sha256_of_file
from seqvault_client.http import Api
from seqvault_client.progress import Board, Progress
from seqvault_client.results import camel_keys
from seqvault_client.transfer import Transfer, wait_interruptibly

log = logging.getLogger("seqvault")

MIB = 1024**2
PART_SUFFIX = ".seqvault-part"
STATE_SUFFIX = ".seqvault-part.json"


@dataclass
class DownloadOptions:
    jobs: int = 6  # ranges in flight per file
    chunk_size: int = 16 * MIB
    overwrite: bool = False
    max_attempts: int = 8
    files_in_flight: int = 4


@dataclass
class DownloadResult:
    file_id: str
    path: str
    size: int
    sha256: str
    skipped: bool = False  # already there with the right checksum
    resumed: bool = False
    chunks_fetched: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """The command's --json form, named as the API names things."""
        return camel_keys(asdict(self))


class Downloader:
    def __init__(self, *, api: Api, options: DownloadOptions, board: Board | None = None) -> None:
        self.api, self.options = api, options
        self.board = board or Board()
        self.transfer = Transfer(
            pool_size=options.jobs * options.files_in_flight, max_attempts=options.max_attempts
        )
        self.stop = threading.Event()

    def download_many(
        self, file_ids: Sequence[str], directory: Path
    ) -> Iterator[DownloadResult | tuple[str, SeqvaultError]]:
        """Up to `files_in_flight` files at once; each result (or the file's error) as it
        finishes. Ctrl-C stops every transfer and raises Interrupted."""
        pool = ThreadPoolExecutor(self.options.files_in_flight)
        futures: dict[Future[DownloadResult], str] = {
            pool.submit(self.download, file_id, directory): file_id for file_id in file_ids
        }
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    if isinstance(error, Interrupted):
                        raise error
                    if isinstance(error, SeqvaultError):
                        yield futures[future], error
                    elif error is not None:
                        raise error
                    else:
                        yield future.result()
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        finally:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def download(self, file_id: str, directory: Path) -> DownloadResult:
        file = self.api.get(f"files/{file_id}/")
        if file["status"] != "verified":
            raise SeqvaultError(
                f"File {file_id} is {file['status']}; only verified files download."
            )
        size, sha256 = int(file["size"]), file["sha256"]
        name = file["name"] if file["name"] not in ("", ".", "..") else file_id
        target = directory / name
        result = DownloadResult(file_id, str(target), size, sha256)
        progress = self.board.file(target.name, size)
        try:
            if target.exists():
                if target.stat().st_size == size and sha256 and sha256_of_file(target) == sha256:
                    result.skipped = True
                    progress.skip(size)
                    return result
                if not self.options.overwrite:
                    raise SeqvaultError(f"{target} exists with other content (use --overwrite).")
            directory.mkdir(parents=True, exist_ok=True)
            self._fetch(file_id, target, result, progress)
        finally:
            progress.close()
        return result

    def _fetch(
        self, file_id: str, target: Path, result: DownloadResult, progress: Progress
    ) -> None:
        partial = target.with_name(target.name + PART_SUFFIX)
        state_path = target.with_name(target.name + STATE_SUFFIX)
        chunk = self.options.chunk_size
        count = max(1, -(-result.size // chunk))
        done = self._resumable(state_path, partial, result, chunk)
        result.resumed = bool(done)
        if not done:
            with partial.open("wb") as handle:
                handle.truncate(result.size)
        for index in done:
            progress.skip(min(chunk, result.size - index * chunk))
        hasher = FrontierHasher(partial, chunk_size=chunk, size=result.size)
        try:
            for index in done:
                hasher.mark(index)
            missing = [i for i in range(count) if i not in done] if result.size else []
            if not result.size:
                hasher.mark(0)
            if missing:
                self._fetch_chunks(
                    file_id, partial, state_path, missing, done, result, progress, hasher
                )
            result.chunks_fetched = len(missing)
            progress.set_status("checking")
            actual = hasher.hexdigest()
        finally:
            hasher.close()
        if result.sha256 and actual != result.sha256:
            partial.unlink(missing_ok=True)
            state_path.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{target.name}: downloaded bytes have sha256 {actual}, the server recorded "
                f"{result.sha256}; the partial download was removed, run the command again."
            )
        os.replace(partial, target)
        state_path.unlink(missing_ok=True)

    def _resumable(
        self, state_path: Path, partial: Path, result: DownloadResult, chunk: int
    ) -> set[int]:
        state = read_json(state_path)
        if not state or not partial.exists() or partial.stat().st_size != result.size:
            return set()
        identity = (state.get("fileId"), state.get("sha256"), state.get("chunkSize"))
        if identity != (result.file_id, result.sha256, chunk):
            return set()
        return {int(i) for i in state.get("done", [])}

    def _fetch_chunks(
        self,
        file_id: str,
        partial: Path,
        state_path: Path,
        missing: list[int],
        done: set[int],
        result: DownloadResult,
        progress: Progress,
        hasher: FrontierHasher,
    ) -> None:
        stop = threading.Event()
        lock = threading.Lock()
        errors: list[BaseException] = []
        work: queue.Queue[int] = queue.Queue()
        for index in missing:
            work.put(index)
        shared = {"target": self._url(file_id)}
        fd = os.open(partial, os.O_WRONLY)

        def refresh() -> dict[str, Any]:
            with lock:
                shared["target"] = self._url(file_id)
                return shared["target"]

        def save_state() -> None:
            state = {
                "fileId": file_id,
                "sha256": result.sha256,
                "chunkSize": self.options.chunk_size,
                "done": sorted(done),
            }
            write_json_private(state_path, state)

        def worker() -> None:
            try:
                while not stop.is_set():
                    if self.stop.is_set():
                        raise Interrupted("stopped")
                    try:
                        index = work.get_nowait()
                    except queue.Empty:
                        return
                    start = index * self.options.chunk_size
                    end = min(result.size, start + self.options.chunk_size) - 1
                    self.transfer.get_range(
                        target=shared["target"],
                        refresh=refresh,
                        start=start,
                        end=end,
                        write=lambda offset, data: os.pwrite(fd, data, offset),
                        progress=progress,
                        stop=self.stop,
                        what=f"{partial.name} bytes {start}-{end}",
                    )
                    hasher.mark(index)
                    with lock:
                        done.add(index)
                        save_state()
                    log.info("%s: range %d-%d fetched", file_id, start, end)
            except BaseException as exc:
                if not isinstance(exc, Interrupted):
                    errors.append(exc)
                stop.set()

        with lock:
            save_state()
        jobs = min(self.options.jobs, len(missing))
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
        try:
            for thread in threads:
                thread.start()
            wait_interruptibly(threads, stop)
        finally:
            os.close(fd)
        if errors:
            raise errors[0]
        if any(index not in done for index in missing):
            raise Interrupted("stopped")

    def _url(self, file_id: str) -> dict[str, Any]:
        answer = self.api.get(f"files/{file_id}/download", redirect="false")
        return {"url": answer["url"], "headers": {}, "expiresAt": answer.get("expiresAt")}
