"""Uploading files: one PUT for small ones, a resumable multipart upload for large ones."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from seqvault_client.errors import ApiError, FileChangedError, SeqvaultError
from seqvault_client.http import Api
from seqvault_client.pipeline import HeldPart, PartPipeline, layout
from seqvault_client.progress import Progress
from seqvault_client.state import StateStore
from seqvault_client.transfer import Transfer

log = logging.getLogger("seqvault")

MIB = 1024**2
SETTLED_UPLOAD = {"accepted", "rejected", "failed", "cancelled"}
SETTLED_FILE = {"verified", "failed", "expired"}
WAIT_NOTICE_SECONDS = 60


@dataclass
class UploadOptions:
    jobs: int = 6  # parts in flight
    part_size: int | None = None  # None: the server's choice (16 MiB, more for huge files)
    multipart_threshold: int = 64 * MIB  # larger files go multipart
    dedup: bool = True  # a verified file of the group with the same content answers instead
    wait: bool = True  # wait until the server has verified the file
    hash_first: bool = False  # hash large files before asking, so dedup can apply to them
    max_attempts: int = 8


@dataclass
class UploadResult:
    path: str
    name: str
    file_id: str
    size: int
    sha256: str
    status: str  # the file's status on the server: verified, uploaded, failed, …
    deduplicated: bool = False
    resumed: bool = False
    parts_sent: list[int] = field(default_factory=list)
    failure_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """The command's --json form, named as the API names things."""
        return camel_keys(asdict(self))


def camel_keys(data: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(word.title() for word in rest)

    return {camel(key): value for key, value in data.items()}


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        while chunk := handle.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


class Uploader:
    def __init__(
        self,
        *,
        api: Api,
        states: StateStore,
        options: UploadOptions,
        progress_to: TextIO | None = None,
    ) -> None:
        self.api, self.states, self.options = api, states, options
        self.progress_to = progress_to
        self.transfer = Transfer(pool_size=options.jobs, max_attempts=options.max_attempts)

    def upload(self, path: Path, *, group_id: int, name: str) -> UploadResult:
        size = path.stat().st_size
        progress = Progress(name, size, stream=self.progress_to)
        try:
            if size <= self.options.multipart_threshold:
                return self._single(path, group_id=group_id, name=name, progress=progress)
            return self._multipart(path, group_id=group_id, name=name, progress=progress)
        finally:
            progress.close()

    # --- one PUT ------------------------------------------------------------------------------

    def _request(self, *, group_id: int, spec: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.post(
            "files/request-uploads",
            {"groupId": group_id, "files": [spec], "dedup": self.options.dedup},
        )
        return dict(answer[0])

    def _single(self, path: Path, *, group_id: int, name: str, progress: Progress) -> UploadResult:
        size = path.stat().st_size
        sha256 = sha256_of_file(path)
        ticket = self._request(
            group_id=group_id, spec={"name": name, "size": size, "sha256": sha256}
        )
        result = UploadResult(str(path), name, ticket["fileId"], size, sha256, "verified")
        if ticket.get("deduplicated"):
            result.deduplicated = True
            progress.skip(size)
            return result
        fd = os.open(path, os.O_RDONLY)
        try:
            self.transfer.put(
                target=ticket,
                refresh=None,
                fd=fd,
                offset=0,
                length=size,
                progress=progress,
                stop=threading.Event(),
                what=name,
            )
        finally:
            os.close(fd)
        file = self.api.request("POST", f"files/{result.file_id}/confirm", expect=(200, 202)).json()
        return self._settled(result, file, progress)

    # --- multipart ---------------------------------------------------------------------------

    def _multipart(
        self, path: Path, *, group_id: int, name: str, progress: Progress
    ) -> UploadResult:
        stat = path.stat()
        key = self.states.key(url=self.api.url, path=path, group_id=group_id)
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
            result.sha256 = self._send_and_complete(path, upload, stat, progress, result)
        else:
            progress.skip(stat.st_size)
        # The state is kept until the file is settled: interrupted while waiting for the
        # verification, the same command finds the completed upload instead of sending again.
        settled = self._settled_multipart(result, upload["uploadId"], progress)
        self.states.remove(key)
        return settled

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
                progress = Progress(result.name, stat.st_size, stream=progress.stream)
            pipeline = PartPipeline(
                api=self.api,
                transfer=self.transfer,
                path=path,
                upload_id=upload["uploadId"],
                parts=parts,
                held=held,
                progress=progress,
                jobs=self.options.jobs,
                # an S3 that checks no SHA-256 (Ceph RGW) binds each part by Content-MD5
                part_md5=upload.get("checksumAlgorithm") == "MD5",
            )
            etags, sha256 = pipeline.run()
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
            self._poll(f"multipart_uploads/{upload_id}/", SETTLED_UPLOAD)
        file = self.api.get(f"files/{result.file_id}/")
        return self._settled(result, file, progress)

    def _settled(
        self, result: UploadResult, file: dict[str, Any], progress: Progress
    ) -> UploadResult:
        if self.options.wait and file["status"] not in SETTLED_FILE:
            progress.set_status("verifying")
            file = self._poll(f"files/{result.file_id}/", SETTLED_FILE)
        result.status = file["status"]
        result.failure_reason = file.get("failureReason", "")
        result.sha256 = file.get("sha256") or result.sha256
        progress.set_status(result.status)
        return result

    def _poll(self, path: str, settled: set[str]) -> dict[str, Any]:
        delay = 0.2
        started = time.monotonic()
        told = False
        while True:
            answer: dict[str, Any] = self.api.get(path)
            if answer["status"] in settled:
                return answer
            if not told and time.monotonic() - started > WAIT_NOTICE_SECONDS:
                log.warning(
                    "Waiting for the server to verify the upload (%s); Ctrl-C is safe, running "
                    "the command again resumes the wait, and --no-wait skips it.",
                    path,
                )
                told = True
            time.sleep(delay)
            delay = min(5.0, delay * 1.5)
