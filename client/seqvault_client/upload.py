"""Uploading files: small ones in bulk (one PUT each, requested and confirmed in batches), large
ones as resumable multipart uploads, several at once, whose parts share one pool of senders."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqvault_client.errors import (
    ApiError,
    FileChangedError,
    Interrupted,
    SeqvaultError,
)
from seqvault_client.hashing import sha256_of_file
from seqvault_client.http import Api
from seqvault_client.pipeline import HeldPart, PartPipeline, PartSenders, layout
from seqvault_client.progress import Board, Progress
from seqvault_client.results import UploadResult, camel_keys
from seqvault_client.small_files import SmallFiles
from seqvault_client.state import StateStore
from seqvault_client.threads import each_at_once, merged
from seqvault_client.transfer import Transfer

log = logging.getLogger("seqvault")

MIB = 1024**2
SETTLED_UPLOAD = {"accepted", "rejected", "failed", "cancelled"}
SETTLED_FILE = {"verified", "failed", "expired"}
# A wait for verification longer than this is told, once per file.
WAIT_NOTICE_SECONDS = 2.0
STALE_UPLOAD_HOURS = 72


@dataclass
class UploadOptions:
    jobs: int = 6  # parts in flight
    part_size: int | None = None  # None: the server's choice (16 MiB, more for huge files)
    multipart_threshold: int = 64 * MIB  # larger files go multipart
    dedup: bool = True  # a verified file of the group with the same content answers instead
    wait: bool = True  # wait until the server has verified the file
    hash_first: bool = False  # hash large files before asking, so dedup can apply to them
    max_attempts: int = 8
    files_in_flight: int = 16  # small files sent at once
    # large files being read and sent at once; their parts share the `jobs` senders
    large_files_in_flight: int = 4


__all__ = ["UploadOptions", "UploadResult", "Uploader", "camel_keys", "sha256_of_file"]


class Uploader:
    def __init__(
        self,
        *,
        api: Api,
        states: StateStore,
        options: UploadOptions,
        board: Board | None = None,
    ) -> None:
        self.api, self.states, self.options = api, states, options
        self.board = board or Board()
        pool = max(options.jobs, options.files_in_flight)
        self.transfer = Transfer(pool_size=pool, max_attempts=options.max_attempts)
        self._cancelled = threading.Event()
        self._stops: list[threading.Event] = []
        self._senders = PartSenders(jobs=options.jobs)
        self._slots = threading.BoundedSemaphore(max(1, options.large_files_in_flight))

    def upload_all(
        self, files: list[tuple[Path, str]], *, group_id: int, keep_going: bool = False
    ) -> Iterator[UploadResult]:
        """Small files in bulk while the large ones go, several at once, their parts sharing
        `jobs` senders (a folder of mixed sizes keeps the link busy); one result per file as
        each is settled. With `keep_going`, a file that cannot be uploaded yields a result with
        status "error" and the reason, and the others go; otherwise the error is raised."""
        sized = [(path, name, path.stat().st_size) for path, name in files]
        threshold = self.options.multipart_threshold
        small = [(path, name) for path, name, size in sized if size <= threshold]
        large = [(path, name) for path, name, size in sized if size > threshold]
        self.board.expect(len(sized), sum(size for _, _, size in sized))
        self._senders = PartSenders(jobs=self.options.jobs)
        bulk = SmallFiles(
            api=self.api,
            transfer=self.transfer,
            board=self.board,
            files_in_flight=self.options.files_in_flight,
            dedup=self.options.dedup,
            wait=self.options.wait,
            poll=self._poll,
        )
        self._stops = [bulk.stop]
        sources: list[Callable[[], Iterator[UploadResult]]] = []
        if small:
            sources.append(lambda: bulk.run(small, group_id=group_id))
        if large:
            sources.append(lambda: self._large_files(large, group_id, keep_going))
        try:
            for result in merged(sources, on_stop=self._stop_all):
                if result.status == "error" and not keep_going:
                    raise SeqvaultError(f"{result.name}: {result.failure_reason}")
                yield result
        finally:
            self._senders.close()

    def _stop_all(self) -> None:
        self._cancelled.set()
        for stop in list(self._stops):
            stop.set()

    def _large_files(
        self, large: list[tuple[Path, str]], group_id: int, keep_going: bool
    ) -> Iterator[UploadResult]:
        """Every large file in a thread of its own, `large_files_in_flight` of them read and
        sent at once (twice as many threads: a file waiting for its verification holds a
        thread, not a slot); results as they come."""
        outcomes = each_at_once(
            large,
            lambda item: self._large(item[0], group_id=group_id, name=item[1]),
            threads=2 * max(1, self.options.large_files_in_flight),
            stopped=self._cancelled,
        )
        try:
            for (path, name), outcome in outcomes:
                if isinstance(outcome, UploadResult):
                    yield outcome
                elif isinstance(outcome, SeqvaultError) and not isinstance(outcome, Interrupted):
                    if not keep_going:
                        raise outcome
                    failure = str(outcome)
                    yield UploadResult(str(path), name, "", 0, "", "error", failure_reason=failure)
                else:
                    raise outcome
        except BaseException:
            self._stop_all()
            raise

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """One of the `large_files_in_flight` places of files being read and sent."""
        while not self._slots.acquire(timeout=0.2):
            if self._cancelled.is_set():
                raise Interrupted("stopped")
        try:
            yield
        finally:
            self._slots.release()

    def upload(self, path: Path, *, group_id: int, name: str) -> UploadResult:
        """One file: a multipart upload if it is over the threshold, else one PUT."""
        [result] = self.upload_all([(path, name)], group_id=group_id)
        return result

    def _large(self, path: Path, *, group_id: int, name: str) -> UploadResult:
        progress = Progress(self.board, name, path.stat().st_size)
        try:
            return self._multipart(path, group_id=group_id, name=name, progress=progress)
        finally:
            progress.close()

    # --- multipart ---------------------------------------------------------------------------

    def _multipart(
        self, path: Path, *, group_id: int, name: str, progress: Progress
    ) -> UploadResult:
        stat = path.stat()
        key = self.states.key(url=self.api.url, path=path, group_id=group_id)
        with self._slot():
            if self._cancelled.is_set():
                raise Interrupted("stopped")
            session = self._resume(key, stat) or self._start(key, path, group_id, name, stat)
            if "deduplicated" in session:
                progress.skip(stat.st_size)
                return UploadResult(
                    str(path),
                    name,
                    session["fileId"],
                    stat.st_size,
                    session["sha256"],
                    "verified",
                    deduplicated=True,
                )
            result = UploadResult(
                str(path),
                name,
                session["fileId"],
                stat.st_size,
                "",
                "uploaded",
                resumed=session.get("resumed", False),
            )
            upload = session["upload"]
            if upload["status"] == "pending":
                result.sha256 = self._send_or_withdraw(key, path, upload, stat, progress, result)
            else:
                progress.skip(stat.st_size)
        # The state is kept until the file is settled: interrupted while waiting for the
        # verification, the same command finds the completed upload instead of sending again.
        settled = self._settled_multipart(result, upload["uploadId"], progress)
        self.states.remove(key)
        return settled

    def _request(self, *, group_id: int, spec: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.post(
            "files/request-uploads",
            {"groupId": group_id, "files": [spec], "dedup": self.options.dedup},
        )
        return dict(answer[0])

    def _start(
        self, key: str, path: Path, group_id: int, name: str, stat: os.stat_result
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": name, "size": stat.st_size}
        if self.options.hash_first:
            spec["sha256"] = sha256_of_file(path)
        ticket = self._request(group_id=group_id, spec=spec)
        if ticket.get("deduplicated"):
            return {"fileId": ticket["fileId"], "sha256": spec["sha256"], "deduplicated": True}
        return self._open_upload(key, path, ticket["fileId"], group_id, stat)

    def _open_upload(
        self, key: str, path: Path, file_id: str, group_id: int, stat: os.stat_result
    ) -> dict[str, Any]:
        body = {"partSize": self.options.part_size} if self.options.part_size else {}
        upload = self.api.post(f"files/{file_id}/multipart_uploads", body, expect=(201,))
        self.states.save(
            key,
            {
                "url": self.api.url,
                "path": os.path.abspath(path),
                "groupId": group_id,
                "size": stat.st_size,
                "mtimeNs": stat.st_mtime_ns,
                "fileId": file_id,
                "uploadId": upload["uploadId"],
            },
        )
        log.info("%s: multipart upload %s started", path.name, upload["uploadId"])
        return {"fileId": file_id, "upload": upload}

    def _resume(self, key: str, stat: os.stat_result) -> dict[str, Any] | None:
        """The upload a crashed or interrupted run left, if the file is unchanged."""
        saved = self.states.load(key)
        if saved is None:
            return None
        if (saved["size"], saved["mtimeNs"]) != (stat.st_size, stat.st_mtime_ns):
            log.info("%s changed since the interrupted upload; starting again", saved["path"])
            self._cancel_quietly(saved["uploadId"])
            self.states.remove(key)
            return None
        try:
            upload = self.api.get(f"multipart_uploads/{saved['uploadId']}/")
        except ApiError as exc:
            if exc.status != 404:
                raise
            self.states.remove(key)
            return None
        if upload["status"] in ("pending", "uploaded", "accepted"):
            log.info("%s: resuming upload %s", saved["path"], upload["uploadId"])
            return {"fileId": saved["fileId"], "upload": upload, "resumed": True}
        file = self.api.get(f"files/{saved['fileId']}/")
        if file["status"] == "requested" and file["deletedAt"] is None:
            # The old upload was cancelled (stale): the same file takes a new one.
            path = Path(saved["path"])
            return self._open_upload(key, path, saved["fileId"], saved["groupId"], stat)
        self.states.remove(key)
        return None

    def _cancel_quietly(self, upload_id: str) -> None:
        try:
            self.api.request(
                "PATCH",
                f"multipart_uploads/{upload_id}/",
                json={"status": "cancelled"},
                expect=(204,),
            )
        except SeqvaultError as exc:
            log.info("could not cancel upload %s: %s", upload_id, exc)

    def _held(self, upload_id: str) -> dict[int, HeldPart]:
        answer = self.api.get(f"multipart_uploads/{upload_id}/parts")
        return {
            part["partNumber"]: HeldPart(part["size"], part["etag"], part["sha256"])
            for part in answer["parts"]
        }

    def _send_or_withdraw(
        self,
        key: str,
        path: Path,
        upload: dict[str, Any],
        stat: os.stat_result,
        progress: Progress,
        result: UploadResult,
    ) -> str:
        """Send and complete. An upload that cannot finish is cancelled and its file deleted,
        so nothing stays held (parts, a pending slot, quota), unless the same command can
        resume it: after an interruption or a failure to reach S3 or the server."""
        try:
            return self._send_and_complete(path, upload, stat, progress, result)
        except (Interrupted, KeyboardInterrupt):
            raise
        except ApiError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise self._kept(exc) from exc
            raise self._withdrawn(exc, key, upload["uploadId"], result.file_id) from exc
        except FileChangedError as exc:
            raise self._withdrawn(exc, key, upload["uploadId"], result.file_id) from exc
        except SeqvaultError as exc:
            raise self._kept(exc) from exc

    @staticmethod
    def _kept(exc: SeqvaultError) -> SeqvaultError:
        return SeqvaultError(
            f"{exc} The parts already sent are kept: run the same command again to resume "
            f"(the server drops an upload left alone for {STALE_UPLOAD_HOURS} h)."
        )

    def _withdrawn(
        self, exc: SeqvaultError, key: str, upload_id: str, file_id: str
    ) -> SeqvaultError:
        self._cancel_quietly(upload_id)
        self.api.withdraw_file(file_id)
        self.states.remove(key)
        return SeqvaultError(
            f"{exc} The upload was cancelled and the file withdrawn: nothing is held on the "
            "server. Run the command again to send it anew."
        )

    def _send_and_complete(
        self,
        path: Path,
        upload: dict[str, Any],
        stat: os.stat_result,
        progress: Progress,
        result: UploadResult,
    ) -> str:
        """Send what S3 lacks and complete; a part S3 lost is sent again once."""
        parts = layout(
            size=stat.st_size, part_size=upload["partSize"], part_count=upload["partCount"]
        )
        for round_ in range(2):
            held = self._held(upload["uploadId"]) if result.resumed or round_ else {}
            if round_:
                progress.restart()
            pipeline = PartPipeline(
                api=self.api,
                transfer=self.transfer,
                senders=self._senders,
                path=path,
                upload_id=upload["uploadId"],
                parts=parts,
                held=held,
                progress=progress,
                # an S3 that checks no SHA-256 (Ceph RGW) binds each part by Content-MD5
                part_md5=upload.get("checksumAlgorithm") == "MD5",
            )
            self._stops.append(pipeline.stop)
            if self._cancelled.is_set():
                raise Interrupted("stopped")
            try:
                etags, sha256 = pipeline.run()
            finally:
                self._stops.remove(pipeline.stop)
            result.parts_sent += sorted(pipeline.sent)
            now = path.stat()
            if (now.st_size, now.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                raise FileChangedError(f"{path} changed while it was being sent")
            try:
                self._complete(upload["uploadId"], etags, sha256)
                return sha256
            except ApiError as exc:
                if exc.code != "multipart_parts_missing" or round_:
                    raise
                log.info(
                    "%s: the object store lacks parts %s; sending them again",
                    path.name,
                    exc.details.get("missing"),
                )
        raise AssertionError("unreachable")

    def _complete(self, upload_id: str, etags: dict[int, str], sha256: str) -> None:
        try:
            self.api.request(
                "PATCH",
                f"multipart_uploads/{upload_id}/",
                json={"status": "uploaded", "parts": etags, "sha256": sha256},
                expect=(204,),
            )
        except ApiError as exc:
            # A retried completion whose first attempt went through is not an error.
            if exc.code != "multipart_upload_not_pending":
                raise
            if exc.details.get("status") not in ("uploaded", "accepted", "rejected"):
                raise

    # --- waiting for verification -------------------------------------------------------------

    def _settled_multipart(
        self, result: UploadResult, upload_id: str, progress: Progress
    ) -> UploadResult:
        if self.options.wait:
            progress.set_status("verifying")
            self._poll(f"multipart_uploads/{upload_id}/", SETTLED_UPLOAD, result.name)
        file = self.api.get(f"files/{result.file_id}/")
        return self._settled(result, file, progress)

    def _settled(
        self, result: UploadResult, file: dict[str, Any], progress: Progress
    ) -> UploadResult:
        if self.options.wait and file["status"] not in SETTLED_FILE:
            progress.set_status("verifying")
            file = self._poll(f"files/{result.file_id}/", SETTLED_FILE, result.name)
        result.status = file["status"]
        result.failure_reason = file.get("failureReason", "")
        result.sha256 = file.get("sha256") or result.sha256
        progress.set_status(result.status)
        return result

    def _poll(self, path: str, settled: set[str], label: str = "") -> dict[str, Any]:
        delay = 0.2
        started = time.monotonic()
        told = False
        while True:
            answer: dict[str, Any] = self.api.get(path)
            if answer["status"] in settled:
                return answer
            if not told and time.monotonic() - started > WAIT_NOTICE_SECONDS:
                log.warning(
                    "%s: waiting for the server to verify it (Ctrl-C is safe: the same command "
                    "resumes the wait; --no-wait skips it).",
                    label or path,
                )
                told = True
            time.sleep(delay)
            delay = min(5.0, delay * 1.5)
