"""Multipart uploads that S3 lost, and completions that race: an upload gone from S3 is
cancelled with its reason so that a new one can start; two completions at once settle it once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import MultipartUpload
from tests.filesharing.multipart_helpers import (
    PART,
    chunks,
    error_code,
    make_data,
    send_parts,
    start,
    started_upload,
)


def abort_in_s3(s3_client: Any, file_id: str, upload_id: str) -> None:
    """What S3's lifecycle rule (or someone with the bucket's keys) does behind our back."""
    stored = MultipartUpload.objects.get(pk=upload_id)
    s3_client.abort_multipart_upload(
        Bucket=s3.bucket(), Key=f"files/{file_id}", UploadId=stored.s3_upload_id
    )


def assert_gone_and_cancelled(response: Any, upload_id: str) -> None:
    assert response.status_code == 409, response.content
    assert error_code(response) == "multipart_upload_gone"
    details = response.json()["error"]["details"]
    assert details["status"] == "cancelled"
    assert "no longer holds" in details["reason"]
    stored = MultipartUpload.objects.get(pk=upload_id)
    assert stored.status == "cancelled"
    assert stored.failure_reason == details["reason"]
    assert AuditEvent.objects.filter(action="multipart.cancelled", object_id=stored.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("when", ["listing parts", "completing"])
def test_an_upload_gone_from_s3_is_cancelled_and_the_next_start_succeeds(
    submitter: Any, s3_client: Any, when: str
) -> None:
    # given a pending upload with its parts sent, that S3 then forgets
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    abort_in_s3(s3_client, file_id, upload["uploadId"])

    # when the client lists its parts or completes
    if when == "listing parts":
        response = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/parts")
    else:
        response = submitter.client.patch(
            f"/api/multipart_uploads/{upload['uploadId']}/",
            {"status": "uploaded", "parts": {str(n): e for n, e in etags.items()}},
            format="json",
        )

    # then the upload is cancelled with its reason, and a new one starts
    assert_gone_and_cancelled(response, upload["uploadId"])
    again = start(submitter, file_id)
    assert again.status_code == 201, again.content
    history = submitter.client.get(f"/api/files/{file_id}/multipart_uploads").json()
    assert sorted(u["status"] for u in history) == ["cancelled", "pending"]


@pytest.mark.django_db(transaction=True)
def test_two_completions_at_once_give_one_204_and_one_409(submitter: Any) -> None:
    data = make_data(2 * PART + 10)
    _, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    body = {"status": "uploaded", "parts": {str(n): e for n, e in etags.items()}}
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def complete() -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(
                submitter.client.patch(
                    f"/api/multipart_uploads/{upload['uploadId']}/", body, format="json"
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answer.status_code for answer in answers) == [204, 409]
    [refused] = [answer for answer in answers if answer.status_code == 409]
    assert error_code(refused) == "multipart_upload_not_pending"
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    assert stored.status in ("uploaded", "accepted")
    assert AuditEvent.objects.filter(action="multipart.uploaded", object_id=stored.pk).count() == 1
