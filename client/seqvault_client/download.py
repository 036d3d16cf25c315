"""Downloading files: parallel ranged GETs into `<name>.seqvault-part`, resumable from a
small state file beside it, then checked against the SHA-256 the server recorded."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from seqvault_client.config import read_json, write_json_private
from seqvault_client.errors import ChecksumMismatch, Interrupted, SeqvaultError
from seqvault_client.http import Api
from seqvault_client.progress import Progress
from seqvault_client.transfer import Transfer, wait_interruptibly
from seqvault_client.upload import camel_keys

log = logging.getLogger("seqvault")

MIB = 1024**2
PART_SUFFIX = ".seqvault-part"
STATE_SUFFIX = ".seqvault-part.json"


@dataclass
class DownloadOptions:
    jobs: int = 6
    chunk_size: int = 16 * MIB
    overwrite: bool = False
    max_attempts: int = 8


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        while chunk := handle.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


class Downloader:
    def __init__(
        self, *, api: Api, options: DownloadOptions, progress_to: TextIO | None = None
    ) -> None:
        self.api, self.options, self.progress_to = api, options, progress_to
        self.transfer = Transfer(pool_size=options.jobs, max_attempts=options.max_attempts)

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
        if target.exists():
            if target.stat().st_size == size and sha256 and _sha256(target) == sha256:
                result.skipped = True
                return result
            if not self.options.overwrite:
                raise SeqvaultError(f"{target} exists with other content (use --overwrite).")
        directory.mkdir(parents=True, exist_ok=True)
        progress = Progress(target.name, size, stream=self.progress_to)
        try:
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
        missing = [i for i in range(count) if i not in done] if result.size else []
        if missing:
            self._fetch_chunks(file_id, partial, state_path, missing, done, result, progress)
        result.chunks_fetched = len(missing)
        progress.set_status("checking")
        actual = _sha256(partial)
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
                        stop=stop,
                        what=f"{partial.name} bytes {start}-{end}",
                    )
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
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.options.jobs)]
        try:
            for thread in threads:
                thread.start()
            wait_interruptibly(threads, stop)
        finally:
            os.fsync(fd)
            os.close(fd)
        if errors:
            raise errors[0]

    def _url(self, file_id: str) -> dict[str, Any]:
        answer = self.api.get(f"files/{file_id}/download", redirect="false")
        return {"url": answer["url"], "headers": {}, "expiresAt": answer.get("expiresAt")}
