"""An object store that hangs (accepts connections, never answers) or is stopped: the health
check names it within 5 s, requests that talk to it answer 503 `storage_unavailable` within
15 s, and while the outage is remembered, requests that would hand out URLs answer 503 at once.
When S3 answers again, so does everything else."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest
from botocore.config import Config
from django.conf import settings
from django.test import override_settings

from devtools.s3_emulator import Emulator
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.s3.base import storage_mark
from tests.conftest import confirm, put_with_ticket, sha256_hex, upload_file
from tests.filesharing.multipart_helpers import (
    PART,
    chunks,
    complete,
    make_data,
    send_parts,
    started_upload,
)
from tests.outages import freeze, resume

pytestmark = pytest.mark.django_db

DATA = b"ACGT" * 1000


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def request_upload(actor: Any, name: str = "late.fastq") -> Any:
    spec = {"name": name, "size": len(DATA), "sha256": sha256_hex(DATA)}
    return actor.client.post(
        "/api/files/request-uploads", {"groupId": actor.group.pk, "files": [spec]}, format="json"
    )


def assert_storage_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "storage_unavailable"


def test_a_hung_then_stopped_s3_answers_503_in_time_and_recovers(
    own_s3: Emulator, submitter: Any, anonymous: Any
) -> None:
    # given a verified file, and a file whose bytes arrived but that nobody confirmed yet
    verified = upload_file(submitter, DATA[::-1], name="verified.fastq")
    ticket = request_upload(submitter).json()[0]
    assert put_with_ticket(ticket, DATA).status_code == 200

    # when S3 stops answering (connections are accepted, no reply ever comes)
    freeze(own_s3)
    try:
        # the health check names storage within 5 s
        health, seconds = timed(lambda: anonymous.get("/api/health/"))
        assert health.status_code == 503
        assert health.json()["storage"].startswith("down")
        assert health.json()["database"] == "ok"
        assert seconds < 5

        # with no outage remembered, a request that reads S3 gives up within 15 s
        storage_mark(up=True)
        confirmation, seconds = timed(
            lambda: submitter.client.post(f"/api/files/{ticket['fileId']}/confirm")
        )
        assert_storage_unavailable(confirmation)
        assert seconds < 15

        # and now that the outage is known, URLs are refused at once, nothing is stored
        files_before = submitter.group.files.count()
        for call in (
            lambda: request_upload(submitter, "another.fastq"),
            lambda: submitter.client.get(f"/api/files/{verified['fileId']}/download"),
            lambda: submitter.client.post(f"/api/files/{ticket['fileId']}/confirm"),
        ):
            response, seconds = timed(call)
            assert_storage_unavailable(response)
            assert seconds < 1
        assert submitter.group.files.count() == files_before
    finally:
        resume(own_s3)

    # when S3 answers again, the health check says so and ends the outage at once
    assert anonymous.get("/api/health/").json()["storage"] == "ok"
    assert request_upload(submitter, "after.fastq").status_code == 200
    assert submitter.client.get(f"/api/files/{verified['fileId']}/download").status_code == 307
    confirmed = confirm(submitter, ticket["fileId"])
    assert confirmed.status_code in (200, 202)
    detail = submitter.client.get(f"/api/files/{ticket['fileId']}/").json()
    assert detail["status"] == "verified"

    # when S3 is stopped (connections refused), the same answers come, quickly
    own_s3.stop()
    health, seconds = timed(lambda: anonymous.get("/api/health/"))
    assert health.status_code == 503 and health.json()["storage"].startswith("down")
    assert seconds < 5
    for call in (
        lambda: request_upload(submitter, "refused.fastq"),
        lambda: submitter.client.get(f"/api/files/{verified['fileId']}/download"),
    ):
        response, seconds = timed(call)
        assert_storage_unavailable(response)
        assert seconds < 1


def test_a_completion_s3_takes_longer_than_the_read_timeout_to_answer_still_settles(
    submitter: Any, own_s3: Emulator
) -> None:
    # given every S3 call bounded by a 1 s read timeout, and a multipart upload whose parts
    # are all in S3
    storages = copy.deepcopy(settings.STORAGES)
    storages["files"]["OPTIONS"]["client_config"] = storages["files"]["OPTIONS"][
        "client_config"
    ].merge(Config(read_timeout=1))
    with override_settings(STORAGES=storages, S3_COMPLETE_READ_TIMEOUT_SECONDS=20):
        data = make_data(PART + 1000)
        file_id, upload = started_upload(submitter, data)
        etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), 1)))

        # when S3 assembles the object for 3 s before it answers the completion (it is frozen
        # from the moment the completion is sent)
        def hold(**_: Any) -> None:
            freeze(own_s3)
            threading.Timer(3.0, resume, args=(own_s3,)).start()

        events = s3.completion_client().meta.events
        events.register_first("before-send.s3.CompleteMultipartUpload", hold)
        try:
            response, took = timed(lambda: complete(submitter, upload["uploadId"], etags))
        finally:
            events.unregister("before-send.s3.CompleteMultipartUpload", hold)
            resume(own_s3)

    # then the completion waited for S3's answer instead of giving up after 1 s
    assert response.status_code == 204, response.content
    assert took >= 3.0
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).status in ("uploaded", "accepted")
    assert File.objects.get(pk=file_id).status in ("uploaded", "verified")
