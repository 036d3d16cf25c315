"""Small files in bulk: hashed in parallel, requested a thousand at a time in one call, sent
many at once, and confirmed in batches (`POST /api/files/confirm`), which verifies each file
from the SHA-256 S3 checked on its PUT — so nothing is polled and each result is final.

The per-file cost of the API (a request, a confirm, a poll) is what made small files slow, not
the bytes: one PUT of 1 MiB takes a few milliseconds, three API calls about a hundred.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqvault_client.errors import ApiError, Interrupted, SeqvaultError
from seqvault_client.hashing import sha256_of_file
from seqvault_client.http import Api
from seqvault_client.progress import Board, Progress
from seqvault_client.results import UploadResult
from seqvault_client.transfer import Transfer

log = logging.getLogger("seqvault")

REQUEST_BATCH = 1000  # the server's limit of files per request-uploads and per confirm
HASH_THREADS = 4
SETTLED_FILE = {"verified", "failed", "expired"}


@dataclass
class _Pending:
    path: Path
    name: str
    size: int
    sha256: str
    file_id: str = ""


class SmallFiles:
    """Uploads files that fit one PUT; yields one result per file as each is settled."""

    def __init__(
        self,
        *,
        api: Api,
        transfer: Transfer,
        board: Board,
        files_in_flight: int,
        dedup: bool,
        wait: bool,
        poll: Any,
    ) -> None:
        self.api, self.transfer, self.board = api, transfer, board
        self.files_in_flight = files_in_flight
        self.dedup, self.wait, self.poll = dedup, wait, poll
        self.stop = threading.Event()

    def run(self, files: list[tuple[Path, str]], *, group_id: int) -> Iterator[UploadResult]:
        for start in range(0, len(files), REQUEST_BATCH):
            yield from self._batch(files[start : start + REQUEST_BATCH], group_id=group_id)

    def _batch(self, files: list[tuple[Path, str]], *, group_id: int) -> Iterator[UploadResult]:
        with ThreadPoolExecutor(HASH_THREADS) as pool:
            pending = list(pool.map(lambda item: self._hashed(*item), files))
        accepted, refused = self._request(pending, group_id=group_id)
        for item, error in refused:
            self.board.finished()
            yield self._result(item, "error", failure_reason=str(error))
        to_send: list[tuple[_Pending, dict[str, Any]]] = []
        for item, ticket in accepted:
            item.file_id = ticket["fileId"]
            if ticket.get("deduplicated"):
                self.board.count(0, skipped=item.size, label=item.name)
                self.board.finished()
                yield self._result(item, "verified", deduplicated=True)
            else:
                to_send.append((item, ticket))
        if to_send:
            yield from self._send_and_confirm(to_send)

    def _request(
        self, pending: list[_Pending], *, group_id: int
    ) -> tuple[list[tuple[_Pending, dict[str, Any]]], list[tuple[_Pending, ApiError]]]:
        """Tickets for the files the server accepts. A file it refuses on its own (a name it
        does not allow, too large) is set aside with its error and the others asked again; a
        refusal of the whole request (quota, group) answers every file with it."""
        refused: list[tuple[_Pending, ApiError]] = []
        pending = list(pending)
        while pending:
            try:
                answer = self.api.post(
                    "files/request-uploads",
                    {
                        "groupId": group_id,
                        "files": [
                            {"name": p.name, "size": p.size, "sha256": p.sha256} for p in pending
                        ],
                        "dedup": self.dedup,
                    },
                )
                return list(zip(pending, answer, strict=True)), refused
            except ApiError as exc:
                index = _refused_index(exc)
                if index is None or index >= len(pending):
                    return [], refused + [(item, exc) for item in pending]
                refused.append((pending.pop(index), exc))
        return [], refused

    def _hashed(self, path: Path, name: str) -> _Pending:
        size = path.stat().st_size
        return _Pending(path, name, size, sha256_of_file(path))

    def _send_and_confirm(
        self, to_send: list[tuple[_Pending, dict[str, Any]]]
    ) -> Iterator[UploadResult]:
        sent: queue.Queue[_Pending | None] = queue.Queue()
        results: queue.Queue[UploadResult | BaseException | None] = queue.Queue()
        confirmer = threading.Thread(target=self._confirm_loop, args=(sent, results), daemon=True)
        confirmer.start()
        pool = ThreadPoolExecutor(self.files_in_flight)
        try:
            for item, ticket in to_send:
                pool.submit(self._put, item, ticket, sent, results)
            done = 0
            while done < len(to_send):
                try:
                    outcome = results.get(timeout=0.2)
                except queue.Empty:
                    if self.stop.is_set():
                        raise Interrupted("stopped") from None
                    continue
                if isinstance(outcome, BaseException):
                    raise outcome
                if outcome is None:
                    continue
                done += 1
                yield outcome
        finally:
            self.stop.set()
            sent.put(None)
            pool.shutdown(wait=True, cancel_futures=True)
            confirmer.join(10)

    def _put(
        self,
        item: _Pending,
        ticket: dict[str, Any],
        sent: queue.Queue[_Pending | None],
        results: queue.Queue[UploadResult | BaseException | None],
    ) -> None:
        if self.stop.is_set():
            return
        progress = Progress(self.board, item.name, item.size)
        fd = os.open(item.path, os.O_RDONLY)
        try:
            self.transfer.put(
                target=ticket,
                refresh=None,
                fd=fd,
                offset=0,
                length=item.size,
                progress=progress,
                stop=self.stop,
                what=item.name,
            )
        except Interrupted:
            return
        except SeqvaultError as exc:
            self.api.withdraw_file(item.file_id)
            results.put(self._result(item, "error", failure_reason=str(exc)))
            self.board.finished()
            return
        except BaseException as exc:  # handed to the caller's thread, which raises it
            results.put(exc)
            return
        finally:
            os.close(fd)
        sent.put(item)

    def _confirm_loop(
        self,
        sent: queue.Queue[_Pending | None],
        results: queue.Queue[UploadResult | BaseException | None],
    ) -> None:
        """Confirm what has arrived since the last call: batches grow while a call is out."""
        closing = False
        while not closing:
            first = sent.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < REQUEST_BATCH:
                try:
                    item = sent.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            try:
                for result in self._confirm(batch):
                    results.put(result)
                    self.board.finished()
            except BaseException as exc:  # handed to the caller's thread, which raises it
                results.put(exc)
                return

    def _confirm(self, batch: list[_Pending]) -> Iterator[UploadResult]:
        answer = self.api.post("files/confirm", {"fileIds": [item.file_id for item in batch]})
        by_id = {item.file_id: item for item in batch}
        for file in answer["confirmed"]:
            item = by_id[file["fileId"]]
            if self.wait and file["status"] not in SETTLED_FILE:
                self.board.set_status("verifying", item.name)
                file = self.poll(f"files/{item.file_id}/", SETTLED_FILE, item.name)
            yield self._result(
                item, file["status"], failure_reason=file.get("failureReason", "") or ""
            )
        for refusal in answer["refused"]:
            item = by_id[refusal["fileId"]]
            error = refusal["error"]
            yield self._result(
                item, "error", failure_reason=f"{error['message']} ({error['code']})"
            )

    @staticmethod
    def _result(item: _Pending, status: str, **extra: Any) -> UploadResult:
        return UploadResult(
            str(item.path), item.name, item.file_id, item.size, item.sha256, status, **extra
        )


def _refused_index(error: ApiError) -> int | None:
    """Which file of a request-uploads call the server refused, when it names one."""
    if error.status not in (400, 413):
        return None
    match = re.match(r"files\[(\d+)\]", str(error.details.get("where") or error.message))
    return int(match.group(1)) if match else None
