"""Limits around uploads in progress: quota reservations, the pending-uploads limit (429),
deduplication in request-uploads, and the scheduled cleanup of abandoned uploads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.selectors import group_storage_used
from filesharing.tasks import cleanup_stale_uploads_task
from tests.conftest import sha256_hex, upload_file
from tests.filesharing.multipart_helpers import (
    PART,
    chunks,
    complete,
    error_code,
    make_data,
    request_file,
    send_parts,
    start,
    started_upload,
)

pytestmark = pytest.mark.django_db

DATA = b"@read\nACGT\n+\nIIII\n" * 100


def request_uploads(actor: Any, files: list[dict[str, Any]], **extra: Any) -> Any:
    return actor.client.post(
        "/api/files/request-uploads",
        {"groupId": actor.group.pk, "files": files, **extra},
        format="json",
    )


# --- pending uploads limit ----------------------------------------------------------------------


@override_settings(MAX_PENDING_UPLOADS_PER_GROUP=2)
def test_beyond_the_pending_uploads_limit_answers_429_with_retry_after(submitter: Any) -> None:
    # given a group with two multipart uploads open, its limit
    for name in ("a.bam", "b.bam"):
        started_upload(submitter, make_data(10), name=name)

    # when a third starts
    third = request_file(submitter, PART + 10, name="c.bam")
    refused = start(submitter, third)

    # then it waits, told for how long
    assert refused.status_code == 429
    assert error_code(refused) == "too_many_pending_uploads"
    assert refused["Retry-After"] == "60"
    assert refused.json()["error"]["details"] == {"pending": 2, "limit": 2}
    assert MultipartUpload.objects.count() == 2

    # and once one is cancelled, the third starts
    first = MultipartUpload.objects.order_by("created_at").first()
    assert first is not None
    submitter.client.patch(
        f"/api/multipart_uploads/{first.pk}/", {"status": "cancelled"}, format="json"
    )
    assert start(submitter, third).status_code == 201


@override_settings(MAX_PENDING_UPLOADS_PER_GROUP=1)
def test_requested_files_that_sent_nothing_do_not_count(submitter: Any) -> None:
    many = request_uploads(submitter, [{"name": f"f{i}.fq", "size": 10} for i in range(5)])
    assert many.status_code == 200
    started_upload(submitter, make_data(10))
    assert request_uploads(submitter, [{"name": "more.fq", "size": 10}]).status_code == 200


@override_settings(MAX_PENDING_UPLOADS_PER_GROUP=1)
def test_the_pending_limit_is_per_group(submitter: Any, stranger: Any) -> None:
    started_upload(submitter, make_data(10))
    _, other = started_upload(stranger, make_data(10))
    assert other["status"] == "pending"


def test_the_default_pending_limit_is_20(settings: Any) -> None:
    assert settings.MAX_PENDING_UPLOADS_PER_GROUP == 20


# --- quota --------------------------------------------------------------------------------------


def test_quota_counts_an_open_multipart_upload_past_the_files_deadline(submitter: Any) -> None:
    # given a group with a quota and a multipart upload whose file deadline has passed
    submitter.group.quota_bytes = 100 * PART
    submitter.group.save()
    file_id = request_file(submitter, 60 * PART)
    assert start(submitter, file_id).status_code == 201
    File.objects.filter(pk=file_id).update(upload_deadline=timezone.now() - timedelta(hours=1))

    # then its declared size is still reserved, and a request over the rest is refused
    assert group_storage_used(group=submitter.group) == 60 * PART
    response = request_uploads(submitter, [{"name": "more.bam", "size": 41 * PART}])
    assert response.status_code == 413
    assert error_code(response) == "quota_exceeded"
    assert request_uploads(submitter, [{"name": "more.bam", "size": 40 * PART}]).status_code == 200


# --- dedup --------------------------------------------------------------------------------------


def test_the_same_content_again_answers_the_verified_file_without_a_url(submitter: Any) -> None:
    # given a verified file
    existing = upload_file(submitter, DATA, name="first.fq")
    files_before = File.objects.count()

    # when the same bytes are requested under another name
    response = request_uploads(
        submitter, [{"name": "again.fq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    )

    # then the answer names the existing file, with nothing to send
    assert response.status_code == 200
    [ticket] = response.json()
    assert ticket == {
        "fileId": existing["fileId"],
        "name": "first.fq",
        "version": 1,
        "deduplicated": True,
        "url": None,
        "method": None,
        "headers": {},
        "expiresAt": None,
    }
    assert File.objects.count() == files_before
    event = AuditEvent.objects.get(action="file.deduplicated")
    assert event.object_id == existing["fileId"]
    assert event.details == {"requestedName": "again.fq"}


def test_dedup_keeps_order_among_new_files(submitter: Any) -> None:
    existing = upload_file(submitter, DATA, name="first.fq")
    response = request_uploads(
        submitter,
        [
            {"name": "new1.fq", "size": 3},
            {"name": "dup.fq", "size": len(DATA), "sha256": sha256_hex(DATA)},
            {"name": "new2.fq"},
        ],
    )
    tickets = response.json()
    assert [t["name"] for t in tickets] == ["new1.fq", "first.fq", "new2.fq"]
    assert tickets[1]["fileId"] == existing["fileId"]
    assert tickets[0]["url"] and tickets[2]["url"]
    assert "deduplicated" not in tickets[0]


@pytest.mark.parametrize("how", ["body", "query"])
def test_dedup_false_stores_the_content_again(submitter: Any, how: str) -> None:
    existing = upload_file(submitter, DATA, name="first.fq")
    spec = [{"name": "again.fq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    if how == "body":
        response = request_uploads(submitter, spec, dedup=False)
    else:
        response = submitter.client.post(
            "/api/files/request-uploads?dedup=false",
            {"groupId": submitter.group.pk, "files": spec},
            format="json",
        )
    [ticket] = response.json()
    assert ticket["fileId"] != existing["fileId"]
    assert ticket["url"]


def test_dedup_needs_same_size_same_group_and_a_live_verified_file(
    submitter: Any, stranger: Any
) -> None:
    existing = upload_file(submitter, DATA, name="first.fq")
    digest = sha256_hex(DATA)
    other_size = request_uploads(submitter, [{"name": "b.fq", "size": 1, "sha256": digest}])
    assert other_size.json()[0]["fileId"] != existing["fileId"]
    other_group = request_uploads(stranger, [{"name": "c.fq", "size": len(DATA), "sha256": digest}])
    assert other_group.json()[0]["fileId"] != existing["fileId"]
    submitter.client.delete(f"/api/files/{existing['fileId']}/")
    after_delete = request_uploads(
        submitter, [{"name": "d.fq", "size": len(DATA), "sha256": digest}]
    )
    assert after_delete.json()[0]["url"]


def test_a_file_still_uploading_is_not_a_duplicate(submitter: Any) -> None:
    spec = [{"name": "a.fq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    first = request_uploads(submitter, spec).json()[0]
    second = request_uploads(submitter, spec).json()[0]
    assert second["fileId"] != first["fileId"]
    assert second["version"] == 2


# --- stale uploads ------------------------------------------------------------------------------


def test_cleanup_aborts_stale_uploads_and_leaves_everything_else(
    submitter: Any, s3_client: Any
) -> None:
    # given a multipart upload idle for 73 hours with a part in S3, a fresh one, a verified
    # file, and a single upload that never arrived before its deadline
    data = make_data(PART + 10)
    stale_file, stale = started_upload(submitter, data, name="stale.bam")
    send_parts(submitter, stale["uploadId"], {1: data[:PART]})
    MultipartUpload.objects.filter(pk=stale["uploadId"]).update(
        last_activity=timezone.now() - timedelta(hours=73)
    )
    _, fresh = started_upload(submitter, data, name="fresh.bam")
    verified = upload_file(submitter, DATA, name="kept.fq")
    File.objects.filter(pk=verified["fileId"]).update(
        upload_deadline=timezone.now() - timedelta(days=3)
    )
    never = request_file(submitter, 10, name="never.fq")
    File.objects.filter(pk=never).update(upload_deadline=timezone.now() - timedelta(minutes=1))
    s3_upload_id = MultipartUpload.objects.get(pk=stale["uploadId"]).s3_upload_id

    # when the cleanup runs (twice: the second finds nothing left to do)
    assert cleanup_stale_uploads_task() == {"stale": 1, "unverified": 0, "overdue": 1}
    assert cleanup_stale_uploads_task() == {"stale": 0, "unverified": 0, "overdue": 0}

    # then the stale upload is aborted in S3 and cancelled, with its reason and audit row
    stored = MultipartUpload.objects.get(pk=stale["uploadId"])
    assert stored.status == "cancelled"
    assert stored.failure_reason == "no activity for 72 h; aborted by the cleanup"
    with pytest.raises(s3_client.exceptions.NoSuchUpload):
        s3_client.list_parts(Bucket=s3.bucket(), Key=f"files/{stale_file}", UploadId=s3_upload_id)
    event = AuditEvent.objects.get(action="multipart.cancelled", object_id=stored.pk)
    assert event.actor is None
    assert event.details["abortedInStorage"] is True
    # and the rest is as it was, but the single upload that never came is expired
    assert MultipartUpload.objects.get(pk=fresh["uploadId"]).status == "pending"
    kept = File.objects.get(pk=verified["fileId"])
    assert (kept.status, kept.size, kept.sha256) == ("verified", len(DATA), sha256_hex(DATA))
    assert File.objects.get(pk=never).status == "expired"
    assert File.objects.get(pk=stale_file).status == "requested"


@override_settings(MULTIPART_STALE_AFTER=timedelta(hours=1))
def test_stale_after_is_a_setting(submitter: Any) -> None:
    _, upload = started_upload(submitter, make_data(10))
    MultipartUpload.objects.filter(pk=upload["uploadId"]).update(
        last_activity=timezone.now() - timedelta(minutes=61)
    )
    cleanup_stale_uploads_task()
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    assert stored.status == "cancelled"
    assert stored.failure_reason == "no activity for 1 h; aborted by the cleanup"


def test_an_upload_already_gone_from_s3_is_still_cancelled(submitter: Any) -> None:
    file_id, upload = started_upload(submitter, make_data(10))
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    s3.multipart_abort(key=f"files/{file_id}", upload_id=stored.s3_upload_id)
    MultipartUpload.objects.filter(pk=stored.pk).update(
        last_activity=timezone.now() - timedelta(days=4)
    )
    cleanup_stale_uploads_task()
    stored.refresh_from_db()
    assert stored.status == "cancelled"
    event = AuditEvent.objects.get(action="multipart.cancelled", object_id=stored.pk)
    assert event.details["abortedInStorage"] is False


def test_cleanup_queues_again_a_verification_that_was_lost(submitter: Any) -> None:
    # given a completed upload whose verification never ran (the queue lost it)
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    submitter.client.patch(
        f"/api/multipart_uploads/{upload['uploadId']}/",
        {"status": "uploaded", "parts": {str(n): e for n, e in etags.items()}},
        format="json",
    )  # outside captureOnCommitCallbacks: the queued task is dropped
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).status == "uploaded"
    MultipartUpload.objects.filter(pk=upload["uploadId"]).update(
        completed_at=timezone.now() - timedelta(hours=1)
    )
    # the scheduled single-upload verification leaves it to the multipart verifier
    from filesharing.services import file_ids_awaiting_verification, file_verify

    assert file_id not in file_ids_awaiting_verification()
    assert file_verify(file_id=file_id).status == "uploaded"

    # when the cleanup runs
    assert cleanup_stale_uploads_task()["unverified"] == 1

    # then it is settled
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).status == "accepted"
    file = File.objects.get(pk=file_id)
    assert (file.status, file.sha256) == ("verified", sha256_hex(data))


def test_a_crash_after_s3_assembled_the_object_is_completed_by_a_retry(submitter: Any) -> None:
    # given an upload that S3 assembled but whose completion was never recorded
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    held = s3.multipart_list_parts(key=f"files/{file_id}", upload_id=stored.s3_upload_id)
    s3.multipart_complete(key=f"files/{file_id}", upload_id=stored.s3_upload_id, parts=held)

    # when the client retries its completion
    response = complete(submitter, upload["uploadId"], etags, sha256=sha256_hex(data))

    # then the verifier judges the object and accepts it
    assert response.status_code == 204
    stored.refresh_from_db()
    assert stored.status == "accepted"
    assert File.objects.get(pk=file_id).sha256 == sha256_hex(data)
