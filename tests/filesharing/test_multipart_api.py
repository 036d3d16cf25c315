"""Multipart uploads through the API, with real bytes in the S3 emulator: the GHGA endpoints,
part URLs bound to size and SHA-256, completion against what S3 holds, and every refusal."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from django.test import override_settings

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, MultipartUpload
from tests.conftest import sha256_hex
from tests.filesharing.multipart_helpers import (
    MIB,
    PART,
    chunks,
    complete,
    error_code,
    make_data,
    part_urls,
    put_part,
    request_file,
    send_parts,
    start,
    started_upload,
)
from tests.presigned import parse_presigned

pytestmark = pytest.mark.django_db


# --- the journey ------------------------------------------------------------------------------


def test_multipart_journey_ends_with_a_verified_file_holding_the_same_bytes(
    submitter: Any, s3_client: Any
) -> None:
    # given a declared 12 MiB file in three parts
    data = make_data(2 * PART + 2 * MIB)
    file_id = request_file(submitter, len(data))
    response = start(submitter, file_id)
    assert response.status_code == 201
    upload = response.json()
    assert upload["partSize"] == PART
    assert upload["partCount"] == 3
    assert upload["status"] == "pending"
    assert upload["checksumAlgorithm"] == "SHA256"
    pending = submitter.client.get(f"/api/files/{file_id}/multipart_uploads?status=pending")
    assert pending.json()["uploadId"] == upload["uploadId"]

    # when every part is sent through its own URL and the upload is completed
    pieces = dict(enumerate(chunks(data), start=1))
    etags = send_parts(submitter, upload["uploadId"], pieces)
    held = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/parts").json()
    assert [(p["partNumber"], p["size"]) for p in held["parts"]] == [
        (1, PART),
        (2, PART),
        (3, 2 * MIB),
    ]
    assert [p["sha256"] for p in held["parts"]] == [sha256_hex(p) for p in pieces.values()]
    done = complete(submitter, upload["uploadId"], etags, sha256=sha256_hex(data))

    # then the upload is accepted and the file verified with the whole-file SHA-256
    assert done.status_code == 204
    state = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/").json()
    assert state["status"] == "accepted"
    file = submitter.client.get(f"/api/files/{file_id}/").json()
    assert file["status"] == "verified"
    assert file["size"] == len(data)
    assert file["sha256"] == sha256_hex(data)
    assert (
        submitter.client.get(f"/api/files/{file_id}/multipart_uploads?status=pending").json()
        is None
    )

    # and S3 holds the composite checksum of the three checked parts
    head = s3_client.head_object(Bucket=s3.bucket(), Key=f"files/{file_id}", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == s3.composite_sha256([sha256_hex(p) for p in pieces.values()])
    assert head["ChecksumSHA256"].endswith("-3")

    # and the download gives back the same bytes
    download = submitter.client.get(f"/api/files/{file_id}/download")
    assert requests.get(download["Location"], timeout=60).content == data
    actions = list(
        AuditEvent.objects.filter(object_id=upload["uploadId"])
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "multipart.started",
        "multipart.part_urls_issued",
        "multipart.parts_listed",
        "multipart.uploaded",
        "multipart.accepted",
    ]
    file_actions = set(
        AuditEvent.objects.filter(object_id=file_id).values_list("action", flat=True)
    )
    assert {"file.upload_requested", "file.uploaded", "file.verified"} <= file_actions


def test_part_urls_sign_size_checksum_part_number_and_upload(submitter: Any) -> None:
    data = make_data(PART + 100)
    file_id, upload = started_upload(submitter, data)
    digest = sha256_hex(data[PART:])
    response = submitter.client.post(
        f"/api/multipart_uploads/{upload['uploadId']}/part/2/presigned_post",
        {"sha256": digest},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    parsed = parse_presigned(body["url"])
    assert body["method"] == "PUT"
    assert body["partNumber"] == 2
    assert body["size"] == 100
    assert parsed.key == f"files/{file_id}"
    assert parsed.expires_in == 15 * 60
    assert parsed.signed_headers == ["content-length", "host", "x-amz-checksum-sha256"]
    assert parsed.params["partNumber"] == "2"
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    assert parsed.params["uploadId"] == stored.s3_upload_id
    assert body["headers"] == {
        "Content-Length": "100",
        "x-amz-checksum-sha256": s3.sha256_b64(digest),
    }


def test_asking_again_gives_a_fresh_url_and_refreshes_last_activity(submitter: Any) -> None:
    data = make_data(PART + 100)
    _, upload = started_upload(submitter, data)
    before = MultipartUpload.objects.get(pk=upload["uploadId"]).last_activity
    first = part_urls(submitter, upload["uploadId"], [{"partNumber": 1, "sha256": "a" * 64}])
    second = part_urls(submitter, upload["uploadId"], [{"partNumber": 1, "sha256": "a" * 64}])
    assert first.status_code == second.status_code == 200
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).last_activity > before
    assert AuditEvent.objects.filter(action="multipart.part_urls_issued").count() == 2


def test_an_expired_part_url_is_refused_and_a_fresh_one_works(submitter: Any) -> None:
    import time

    data = make_data(PART + 10)
    _, upload = started_upload(submitter, data)
    piece = {"partNumber": 1, "sha256": sha256_hex(data[:PART])}
    with override_settings(MULTIPART_PART_URL_LIFETIME=__import__("datetime").timedelta(seconds=1)):
        [stale] = part_urls(submitter, upload["uploadId"], [piece]).json()["parts"]
    time.sleep(2.1)
    refused = put_part(stale, data[:PART])
    assert refused.status_code == 403
    assert "expired" in refused.text.lower()
    [fresh] = part_urls(submitter, upload["uploadId"], [piece]).json()["parts"]
    assert put_part(fresh, data[:PART]).status_code == 200


# --- S3 refuses what the URL does not allow -----------------------------------------------------


def test_a_corrupted_part_is_refused_by_s3_and_completion_reports_it_missing(
    submitter: Any,
) -> None:
    # given a three-part upload whose second part is corrupted in transit
    data = make_data(2 * PART + 10)
    file_id, upload = started_upload(submitter, data)
    pieces = dict(enumerate(chunks(data), start=1))
    response = part_urls(
        submitter,
        upload["uploadId"],
        [{"partNumber": n, "sha256": sha256_hex(p)} for n, p in pieces.items()],
    )
    urls = {item["partNumber"]: item for item in response.json()["parts"]}
    etags = {n: put_part(urls[n], pieces[n]).headers["ETag"].strip('"') for n in (1, 3)}
    corrupted = bytearray(pieces[2])
    corrupted[12345] ^= 0xFF

    # when it is sent, S3 refuses it
    refused = put_part(urls[2], bytes(corrupted))
    assert refused.status_code == 400
    assert "BadDigest" in refused.text

    # then S3 holds two parts and completing reports the missing one
    held = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/parts").json()
    assert [p["partNumber"] for p in held["parts"]] == [1, 3]
    response = complete(submitter, upload["uploadId"], etags | {2: "0" * 32})
    assert response.status_code == 409
    assert error_code(response) == "multipart_parts_missing"
    assert response.json()["error"]["details"] == {"missing": [2], "missingCount": 1}
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).status == "pending"
    assert File.objects.get(pk=file_id).status == "requested"


def test_a_part_of_another_size_is_refused_by_s3(submitter: Any) -> None:
    data = make_data(PART + 10)
    _, upload = started_upload(submitter, data)
    [url] = part_urls(
        submitter, upload["uploadId"], [{"partNumber": 2, "sha256": sha256_hex(data[PART:])}]
    ).json()["parts"]
    refused = requests.put(
        url["url"],
        data=data[PART:] + b"more",
        headers={"x-amz-checksum-sha256": url["headers"]["x-amz-checksum-sha256"]},
        timeout=30,
    )
    assert refused.status_code == 403


# --- completion ---------------------------------------------------------------------------------


def test_completion_with_a_part_never_sent_answers_409_and_keeps_the_upload(
    submitter: Any,
) -> None:
    data = make_data(2 * PART + 10)
    _, upload = started_upload(submitter, data)
    pieces = dict(enumerate(chunks(data), start=1))
    etags = send_parts(submitter, upload["uploadId"], {1: pieces[1], 2: pieces[2]})
    response = complete(submitter, upload["uploadId"], etags)
    assert response.status_code == 409
    assert error_code(response) == "multipart_parts_missing"
    assert response.json()["error"]["details"]["missing"] == [3]
    # and sending the last part then completing works
    etags |= send_parts(submitter, upload["uploadId"], {3: pieces[3]})
    assert complete(submitter, upload["uploadId"], etags).status_code == 204
    assert MultipartUpload.objects.get(pk=upload["uploadId"]).status == "accepted"


def test_completion_checks_the_map_against_s3(submitter: Any) -> None:
    data = make_data(PART + 10)
    _, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    upload_id = upload["uploadId"]

    lacking = complete(submitter, upload_id, {1: etags[1]})
    assert lacking.status_code == 422
    assert error_code(lacking) == "multipart_parts_incomplete"

    wrong = complete(submitter, upload_id, {1: etags[1], 2: "f" * 32})
    assert wrong.status_code == 422
    assert error_code(wrong) == "multipart_etag_mismatch"
    assert wrong.json()["error"]["details"]["parts"] == [
        {"partNumber": 2, "given": "f" * 32, "held": etags[2]}
    ]

    outside = complete(submitter, upload_id, etags | {3: "a" * 32})
    assert outside.status_code == 422
    assert error_code(outside) == "invalid_part_number"

    malformed = submitter.client.patch(
        f"/api/multipart_uploads/{upload_id}/",
        {"status": "uploaded", "parts": {"one": "x"}},
        format="json",
    )
    assert malformed.status_code == 400
    assert error_code(malformed) == "invalid_input"
    no_parts = submitter.client.patch(
        f"/api/multipart_uploads/{upload_id}/", {"status": "uploaded"}, format="json"
    )
    assert no_parts.status_code == 400
    assert MultipartUpload.objects.get(pk=upload_id).status == "pending"
    # quoted ETags, as S3 sends them, are accepted
    quoted = complete(submitter, upload_id, {n: f'"{e}"' for n, e in etags.items()})
    assert quoted.status_code == 204


def test_completing_twice_answers_409_the_second_time(submitter: Any) -> None:
    data = make_data(PART + 10)
    _, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    assert complete(submitter, upload["uploadId"], etags).status_code == 204
    again = complete(submitter, upload["uploadId"], etags)
    assert again.status_code == 409
    assert error_code(again) == "multipart_upload_not_pending"
    assert again.json()["error"]["details"]["status"] == "accepted"


def test_a_whole_file_sha256_that_differs_rejects_the_upload_and_fails_the_file(
    submitter: Any,
) -> None:
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    wrong = sha256_hex(b"something else")
    assert complete(submitter, upload["uploadId"], etags, sha256=wrong).status_code == 204
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])
    assert stored.status == "rejected"
    assert f"differs from the declared {wrong}" in stored.failure_reason
    file = submitter.client.get(f"/api/files/{file_id}/").json()
    assert file["status"] == "failed"
    assert file["failureReason"] == stored.failure_reason
    assert file["size"] is None
    assert AuditEvent.objects.filter(action="multipart.rejected", object_id=stored.pk).exists()
    assert AuditEvent.objects.filter(action="file.failed", object_id=file_id).exists()


def test_sha256_declared_up_front_is_checked_and_a_different_one_later_refused(
    submitter: Any,
) -> None:
    data = make_data(PART + 10)
    file_id = request_file(submitter, len(data))
    upload = start(submitter, file_id, sha256=sha256_hex(data)).json()
    assert File.objects.get(pk=file_id).declared_sha256 == sha256_hex(data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    conflict = complete(submitter, upload["uploadId"], etags, sha256=sha256_hex(b"x"))
    assert conflict.status_code == 422
    assert error_code(conflict) == "sha256_conflict"
    assert complete(submitter, upload["uploadId"], etags).status_code == 204
    assert File.objects.get(pk=file_id).sha256 == sha256_hex(data)


def test_verification_runs_twice_with_the_same_result(submitter: Any) -> None:
    from filesharing.tasks import verify_multipart_upload_task

    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    complete(submitter, upload["uploadId"], etags)
    assert verify_multipart_upload_task(upload["uploadId"]) == "accepted"
    assert verify_multipart_upload_task(upload["uploadId"]) == "accepted"
    assert AuditEvent.objects.filter(action="multipart.accepted").count() == 1
    assert AuditEvent.objects.filter(action="file.verified", object_id=file_id).count() == 1


def test_uploads_without_part_checksums_are_verified_by_hashing(submitter: Any) -> None:
    data = make_data(PART + 10)
    file_id = request_file(submitter, len(data))
    upload = start(submitter, file_id, checksumAlgorithm="NONE").json()
    assert upload["checksumAlgorithm"] == ""
    response = part_urls(submitter, upload["uploadId"], [{"partNumber": 1}, {"partNumber": 2}])
    assert response.status_code == 200
    etags = {}
    for item, piece in zip(response.json()["parts"], chunks(data), strict=True):
        assert parse_presigned(item["url"]).signed_headers == ["content-length", "host"]
        etags[item["partNumber"]] = put_part(item, piece).headers["ETag"].strip('"')
    assert complete(submitter, upload["uploadId"], etags).status_code == 204
    file = File.objects.get(pk=file_id)
    assert file.status == "verified"
    assert file.sha256 == sha256_hex(data)


def test_part_urls_of_a_checked_upload_need_each_parts_sha256(submitter: Any) -> None:
    _, upload = started_upload(submitter, make_data(PART + 10))
    response = part_urls(submitter, upload["uploadId"], [{"partNumber": 1}])
    assert response.status_code == 422
    assert error_code(response) == "part_sha256_required"
    single = submitter.client.post(
        f"/api/multipart_uploads/{upload['uploadId']}/part/1/presigned_post", {}, format="json"
    )
    assert single.status_code == 422


@pytest.mark.parametrize(
    ("parts", "status", "code"),
    [
        ([{"partNumber": 0, "sha256": "a" * 64}], 422, "invalid_part_number"),
        ([{"partNumber": 3, "sha256": "a" * 64}], 422, "invalid_part_number"),
        ([{"partNumber": 1, "sha256": "a" * 64}] * 2, 400, "duplicate_part_number"),
        ([{"partNumber": 1, "sha256": "nope"}], 400, "invalid_input"),
        ([{"partNumber": "x"}], 400, "invalid_input"),
        ([], 400, "invalid_input"),
    ],
)
def test_bad_part_url_requests_are_refused(
    submitter: Any, parts: list[dict[str, Any]], status: int, code: str
) -> None:
    _, upload = started_upload(submitter, make_data(PART + 10))
    response = part_urls(submitter, upload["uploadId"], parts)
    assert response.status_code == status
    assert error_code(response) == code


def test_listing_parts_follows_s3_pages(submitter: Any, monkeypatch: Any) -> None:
    data = make_data(2 * PART + 10)
    _, upload = started_upload(submitter, data)
    send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    monkeypatch.setattr(s3.multipart, "_LIST_PARTS_PAGE", 1)
    held = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/parts").json()
    assert [p["partNumber"] for p in held["parts"]] == [1, 2, 3]


# --- one upload at a time, cancel -------------------------------------------------------------


def test_a_second_upload_while_one_is_pending_answers_409(submitter: Any) -> None:
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    second = start(submitter, file_id)
    assert second.status_code == 409
    assert error_code(second) == "multipart_upload_exists"
    assert second.json()["error"]["details"] == {
        "uploadId": upload["uploadId"],
        "status": "pending",
    }
    assert MultipartUpload.objects.filter(file_id=file_id).count() == 1


def test_the_database_allows_one_active_upload_per_file(submitter: Any) -> None:
    from django.db import IntegrityError, transaction

    file_id, _ = started_upload(submitter, make_data(PART + 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        MultipartUpload.objects.create(
            file_id=file_id, s3_upload_id="x", part_size=PART, part_count=2, status="uploaded"
        )


def test_cancel_aborts_in_s3_and_a_new_upload_may_start(submitter: Any, s3_client: Any) -> None:
    # given a pending upload holding one part
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    send_parts(submitter, upload["uploadId"], {1: data[:PART]})
    stored = MultipartUpload.objects.get(pk=upload["uploadId"])

    # when it is cancelled
    response = submitter.client.patch(
        f"/api/multipart_uploads/{upload['uploadId']}", {"status": "cancelled"}, format="json"
    )

    # then S3 no longer has it, the row says so, and the file may take a new upload
    assert response.status_code == 204
    with pytest.raises(s3_client.exceptions.NoSuchUpload):
        s3_client.list_parts(
            Bucket=s3.bucket(), Key=f"files/{file_id}", UploadId=stored.s3_upload_id
        )
    stored.refresh_from_db()
    assert stored.status == "cancelled"
    assert stored.failure_reason == "cancelled by the client"
    assert AuditEvent.objects.filter(action="multipart.cancelled", object_id=stored.pk).count() == 1
    refused = part_urls(submitter, upload["uploadId"], [{"partNumber": 1, "sha256": "a" * 64}])
    assert refused.status_code == 409
    assert error_code(refused) == "multipart_upload_not_pending"
    listing = submitter.client.get(f"/api/multipart_uploads/{upload['uploadId']}/parts")
    assert listing.status_code == 409
    again = submitter.client.patch(
        f"/api/multipart_uploads/{upload['uploadId']}/", {"status": "cancelled"}, format="json"
    )
    assert again.status_code == 204
    assert start(submitter, file_id).status_code == 201
    history = submitter.client.get(f"/api/files/{file_id}/multipart_uploads").json()
    assert [u["status"] for u in history] == ["pending", "cancelled"]


def test_a_settled_upload_cannot_be_cancelled(submitter: Any) -> None:
    data = make_data(PART + 10)
    _, upload = started_upload(submitter, data)
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    complete(submitter, upload["uploadId"], etags)
    response = submitter.client.patch(
        f"/api/multipart_uploads/{upload['uploadId']}/", {"status": "cancelled"}, format="json"
    )
    assert response.status_code == 409
    assert error_code(response) == "multipart_upload_not_pending"


# --- starting: part size, states, who -----------------------------------------------------------


def test_part_size_defaults_to_16_mib_and_grows_for_huge_files(submitter: Any) -> None:
    small = request_file(submitter, 100 * MIB, name="a.bam")
    default = submitter.client.post(f"/api/files/{small}/multipart_uploads", {}, format="json")
    assert default.status_code == 201
    assert (default.json()["partSize"], default.json()["partCount"]) == (16 * MIB, 7)
    huge = request_file(submitter, 1024**4, name="b.bam")
    grown = submitter.client.post(f"/api/files/{huge}/multipart_uploads", {}, format="json")
    assert grown.json()["partSize"] == 105 * MIB
    assert grown.json()["partCount"] == 9987


@pytest.mark.parametrize(
    ("size", "part_size", "code"),
    [
        (100 * MIB, 4 * MIB, "invalid_part_size"),
        (100 * MIB, 5 * 1024**3 + 1, "invalid_part_size"),
        (1024**4, 64 * MIB, "part_size_too_small"),
    ],
)
def test_part_sizes_outside_s3_bounds_are_refused(
    submitter: Any, size: int, part_size: int, code: str
) -> None:
    file_id = request_file(submitter, size)
    response = start(submitter, file_id, partSize=part_size)
    assert response.status_code == 422
    assert error_code(response) == code
    assert not MultipartUpload.objects.exists()


def test_a_file_without_declared_size_cannot_start(submitter: Any) -> None:
    file_id = request_file(submitter, None)
    response = start(submitter, file_id)
    assert response.status_code == 422
    assert error_code(response) == "size_required"


def test_a_verified_or_deleted_file_takes_no_new_upload(submitter: Any) -> None:
    from tests.conftest import upload_file

    verified = upload_file(submitter, b"x" * 1000, name="done.fq")
    response = start(submitter, verified["fileId"])
    assert response.status_code == 409
    assert error_code(response) == "file_verified"
    file_id = request_file(submitter, PART + 10, name="gone.bam")
    submitter.client.delete(f"/api/files/{file_id}/")
    deleted = start(submitter, file_id)
    assert deleted.status_code == 409
    assert error_code(deleted) == "file_deleted"


def test_a_file_whose_object_arrived_by_single_put_cannot_start(
    submitter: Any, s3_client: Any
) -> None:
    file_id = request_file(submitter, 5)
    s3_client.put_object(Bucket=s3.bucket(), Key=f"files/{file_id}", Body=b"12345")
    response = start(submitter, file_id)
    assert response.status_code == 409
    assert error_code(response) == "file_already_uploaded"


def test_other_groups_see_404_everywhere(submitter: Any, stranger: Any) -> None:
    data = make_data(PART + 10)
    file_id, upload = started_upload(submitter, data)
    upload_id = upload["uploadId"]
    answers = [
        stranger.client.post(f"/api/files/{file_id}/multipart_uploads", {}, format="json"),
        stranger.client.get(f"/api/files/{file_id}/multipart_uploads?status=pending"),
        stranger.client.get(f"/api/multipart_uploads/{upload_id}/"),
        stranger.client.get(f"/api/multipart_uploads/{upload_id}/parts"),
        part_urls(stranger, upload_id, [{"partNumber": 1, "sha256": "a" * 64}]),
        stranger.client.post(f"/api/multipart_uploads/{upload_id}/part/1/presigned_post"),
        stranger.client.patch(
            f"/api/multipart_uploads/{upload_id}/", {"status": "cancelled"}, format="json"
        ),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert MultipartUpload.objects.get(pk=upload_id).status == "pending"
    assert submitter.client.get("/api/multipart_uploads/not-a-uuid/").status_code == 404


def test_anonymous_callers_are_refused(submitter: Any, anonymous: Any) -> None:
    _, upload = started_upload(submitter, make_data(PART + 10))
    response = anonymous.get(f"/api/multipart_uploads/{upload['uploadId']}/")
    assert response.status_code == 401


def test_the_pipeline_may_upload_for_a_group(submitter: Any, make_actor: Any) -> None:
    pipeline = make_actor(pipeline=True)
    data = make_data(PART + 10)
    file_id = request_file(submitter, len(data))
    response = pipeline.client.post(
        f"/api/files/{file_id}/multipart_uploads", {"partSize": PART}, format="json"
    )
    assert response.status_code == 201


def test_composite_checksum_is_the_sha256_of_the_part_digests() -> None:
    parts = [b"a" * 10, b"b" * 20]
    joined = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    import base64

    assert s3.composite_sha256([sha256_hex(p) for p in parts]) == (
        base64.b64encode(joined).decode() + "-2"
    )


@pytest.mark.parametrize("size", [0, 1, MIB, 3 * MIB + 7])
def test_ranged_hashing_gives_the_objects_sha256(s3_client: Any, size: int) -> None:
    data = make_data(size)
    key = f"files/hash-test-{size}"
    s3_client.put_object(Bucket=s3.bucket(), Key=key, Body=data)
    assert s3.hash_object_ranged(key=key, size=size, chunk_size=MIB, streams=3) == sha256_hex(data)


@pytest.mark.parametrize("size", [0, MIB - 1, 5 * MIB + 3])
def test_one_pass_gives_sha256_and_md5(s3_client: Any, size: int) -> None:
    import hashlib

    data = make_data(size)
    key = f"files/digests-test-{size}"
    version = s3_client.put_object(Bucket=s3.bucket(), Key=key, Body=data)["VersionId"]

    digests = s3.hash_object_digests(
        key=key, size=size, version_id=version, chunk_size=MIB, streams=2
    )

    assert digests.sha256_hex == sha256_hex(data)
    assert digests.md5_hex == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert digests.size == size
