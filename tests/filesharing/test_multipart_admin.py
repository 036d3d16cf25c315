"""Curators act on multipart uploads in the admin, through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.models import AuditEvent
from filesharing.models import File, MultipartUpload
from tests.conftest import sha256_hex
from tests.factories import UserFactory
from tests.filesharing.multipart_helpers import (
    PART,
    chunks,
    make_data,
    send_parts,
    started_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator_browser() -> Client:
    browser = Client()
    browser.force_login(UserFactory(is_staff=True, is_superuser=True))
    return browser


def act(browser: Client, action: str, *upload_ids: str) -> Any:
    return browser.post(
        "/admin/filesharing/multipartupload/",
        {"action": action, "_selected_action": list(upload_ids)},
        follow=True,
    )


def test_a_curator_cancels_an_upload_and_s3_frees_its_parts(
    curator_browser: Client, submitter: Any, s3_client: Any
) -> None:
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    send_parts(submitter, upload["uploadId"], {1: data[:PART]})
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])

    response = act(curator_browser, "cancel", upload["uploadId"])

    assert response.status_code == 200
    assert "1 upload(s) cancelled." in response.content.decode()
    stored.refresh_from_db()
    assert (stored.status, stored.failure_reason) == ("cancelled", "cancelled by a curator")
    with pytest.raises(s3_client.exceptions.NoSuchUpload):
        s3_client.list_parts(
            Bucket="seqvault", Key=f"files/{file_id}", UploadId=stored.s3_upload_id
        )
    event = AuditEvent.objects.get(action="multipart.cancelled", object_id=stored.pk)
    assert event.actor is not None
    assert event.actor.is_staff


def test_a_curator_settles_a_completed_upload_whose_verification_was_lost(
    curator_browser: Client, submitter: Any
) -> None:
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    submitter.client.patch(  # the queued verification is dropped (no on-commit here)
        f"/api/multipart_uploads/{upload['uploadId']}/",
        {"status": "uploaded", "parts": {str(n): e for n, e in etags.items()}},
        format="json",
    )

    response = act(curator_browser, "verify", upload["uploadId"])

    assert f"Upload {upload['uploadId']}: accepted" in response.content.decode()
    file = File.objects.get(pk=file_id)
    assert (file.status, file.sha256) == ("verified", sha256_hex(data))
    page = curator_browser.get(f"/admin/filesharing/multipartupload/?q={upload['uploadId']}")
    assert page.status_code == 200
