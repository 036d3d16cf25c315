"""Integrity and "released is forever" on every S3, with the attacks an uploader can try:
these run on LocalStack and, in `make test`, again on Ceph RGW (which honours unsigned
x-amz-* headers, ignores If-None-Match and checks no SHA-256)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import requests
from django.core.management import call_command

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, StorageCapabilities
from filesharing.services.storage import storage_probe
from submissions.services.release import public_tags_reconcile
from tests.conftest import confirm, put_with_ticket, sha256_hex, upload_file
from tests.filesharing.multipart_helpers import (
    PART,
    complete,
    error_code,
    make_data,
    part_urls,
    put_part,
    request_file,
    start,
)
from tests.rgw.conftest import anonymous_get, released, sweep_next_run_at

pytestmark = [pytest.mark.rgw, pytest.mark.django_db]
DATA = b"@read1\nACGTACGT\n+\nIIIIIIII\n"
FORGED = b"@read1\nTTTTTTTT\n+\nIIIIIIII\n"  # same size


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def ticket_for(actor: Any, **spec: Any) -> dict[str, Any]:
    response = actor.client.post(
        "/api/files/request-uploads",
        {"groupId": actor.group.pk, "files": [{"name": "reads.fq", **spec}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()[0]


def versions_of(key: str) -> list[str]:
    return [v.version_id for page in s3.list_object_versions(prefix=key) for v in page]


@pytest.mark.parametrize("header", [{"x-amz-tagging": "public=true"}, {"x-amz-acl": "public-read"}])
def test_an_upload_url_refuses_headers_that_would_make_the_bytes_public(
    submitter: Any, header: dict[str, str]
) -> None:
    ticket = ticket_for(submitter, size=len(DATA), sha256=sha256_hex(DATA))
    sent = put_with_ticket(ticket | {"headers": {**ticket["headers"], **header}}, DATA)
    assert sent.status_code == 403
    assert s3.head(key=f"files/{ticket['fileId']}") is None


def test_a_second_put_after_release_neither_replaces_nor_breaks_the_file(
    submitter: Any, anonymous: Any
) -> None:
    # given a released file whose upload URL is still valid
    ticket = ticket_for(submitter, size=len(DATA), sha256=sha256_hex(DATA))
    assert put_with_ticket(ticket, DATA).status_code == 200
    confirm(submitter, ticket["fileId"])
    file = File.objects.get(pk=ticket["fileId"])
    assert file.status == "verified"
    released(str(file.pk))

    # when the uploader PUTs other bytes again, with and without a public tag
    tagged = put_with_ticket(
        ticket | {"headers": {**ticket["headers"], "x-amz-tagging": "public=true"}}, FORGED
    )
    assert tagged.status_code == 403  # the tag is not in the signature
    again = put_with_ticket(ticket, FORGED)
    # AWS, MinIO and LocalStack refuse it (If-None-Match); Ceph RGW stores a new version
    assert again.status_code in (200, 412)

    # then the public URL and the API's download still serve the verified bytes
    redirect = anonymous.get(f"/api/files/{file.pk}/download")
    assert f"versionId={file.s3_version_id}" in redirect["Location"]
    assert anonymous_get(redirect["Location"]).content == DATA
    # and reconciliation removes whatever version the second PUT wrote (its sweep of the
    # shared bucket, a slice a run, made to start just before this key)
    sweep_next_run_at(file.key)
    report = public_tags_reconcile()
    written = [v for v in versions_of(file.key) if v != file.s3_version_id]
    assert written == []
    assert len(report.stray_versions) == (1 if again.status_code == 200 else 0)
    assert anonymous_get(redirect["Location"]).content == DATA


def test_where_s3_checks_no_sha256_urls_sign_content_md5_and_md5_is_on_record(
    submitter: Any, md5_path: StorageCapabilities
) -> None:
    ticket = ticket_for(submitter, size=len(DATA), sha256=sha256_hex(DATA), md5=md5_hex(DATA))
    assert "Content-MD5" in ticket["headers"]
    assert "x-amz-checksum-sha256" not in ticket["headers"]  # this S3 would not check it
    refused = put_with_ticket(ticket, FORGED)
    assert (refused.status_code, "BadDigest" in refused.text) == (400, True)
    assert put_with_ticket(ticket, DATA).status_code == 200
    confirm(submitter, ticket["fileId"])
    shown = submitter.client.get(f"/api/files/{ticket['fileId']}/").json()
    assert (shown["status"], shown["sha256"], shown["md5"]) == (
        "verified",
        sha256_hex(DATA),
        md5_hex(DATA),
    )


def test_where_s3_checks_no_sha256_the_whole_object_is_hashed_before_verified(
    submitter: Any, md5_path: StorageCapabilities
) -> None:
    # given a file declared by its SHA-256 alone: nothing in the URL binds the bytes
    ticket = ticket_for(submitter, size=len(DATA), sha256=sha256_hex(DATA))
    assert put_with_ticket(ticket, FORGED).status_code == 200
    confirm(submitter, ticket["fileId"])
    file = File.objects.get(pk=ticket["fileId"])
    assert file.status == "failed"
    assert file.failure_reason == (
        f"sha256 {sha256_hex(FORGED)} differs from the declared {sha256_hex(DATA)}"
    )


def test_every_verified_file_has_its_md5_on_record(submitter: Any) -> None:
    shown = upload_file(submitter, DATA)
    assert (shown["status"], shown["md5"]) == ("verified", md5_hex(DATA))


def test_multipart_where_s3_checks_no_sha256_binds_parts_by_content_md5(
    submitter: Any, md5_path: StorageCapabilities
) -> None:
    data = make_data(PART + 1000)
    pieces = {1: data[:PART], 2: data[PART:]}
    file_id = request_file(submitter, len(data), sha256=sha256_hex(data))
    started = start(submitter, file_id)
    assert started.status_code == 201, started.content
    upload = started.json()
    assert upload["checksumAlgorithm"] == "MD5"  # asked for SHA256, which this S3 ignores
    asked = part_urls(
        submitter,
        upload["uploadId"],
        [{"partNumber": n, "md5": md5_hex(piece)} for n, piece in pieces.items()],
    )
    urls = {item["partNumber"]: item for item in asked.json()["parts"]}
    assert set(urls[1]["headers"]) == {"Content-Length", "Content-MD5"}
    # one byte flipped (random data may already begin with any given byte)
    corrupted = put_part(urls[1], bytes([pieces[1][0] ^ 0xFF]) + pieces[1][1:])
    assert corrupted.status_code == 400
    etags = {n: put_part(urls[n], piece).headers["ETag"].strip('"') for n, piece in pieces.items()}
    assert complete(submitter, upload["uploadId"], etags).status_code == 204
    file = File.objects.get(pk=file_id)
    assert (file.status, file.sha256, file.md5) == ("verified", sha256_hex(data), md5_hex(data))


def test_a_part_request_without_any_digest_is_refused_on_the_md5_path(
    submitter: Any, md5_path: StorageCapabilities
) -> None:
    file_id = request_file(submitter, PART + 10)
    upload = start(submitter, file_id).json()
    refused = part_urls(submitter, upload["uploadId"], [{"partNumber": 1}])
    assert (refused.status_code, error_code(refused)) == (422, "part_md5_required")


def test_listing_the_parts_of_an_aborted_upload_says_the_upload_is_gone(submitter: Any) -> None:
    key = f"files/{request_file(submitter, PART + 10)}"
    upload_id = s3.multipart_create(key=key, content_type="", checksum_algorithm="")
    assert s3.multipart_abort(key=key, upload_id=upload_id) is True
    with pytest.raises(s3.MultipartUploadGoneError):
        s3.multipart_list_parts(key=key, upload_id=upload_id)


def test_verification_removes_a_tag_put_on_the_object_before_it_was_released(
    submitter: Any,
) -> None:
    ticket = ticket_for(submitter, size=len(DATA))
    assert put_with_ticket(ticket, DATA).status_code == 200
    key = f"files/{ticket['fileId']}"
    s3.set_object_tags(key=key, tags={"public": "true"})  # as a store without guards would
    confirm(submitter, ticket["fileId"])
    file = File.objects.get(pk=ticket["fileId"])
    assert file.status == "verified"
    assert s3.object_tags(key=key, version_id=file.s3_version_id) == {}
    event = AuditEvent.objects.get(action="file.foreign_tags_removed", object_id=str(file.pk))
    assert event.details["tags"] == {"public": "true"}
    assert requests.get(s3.public_url(key=key, base=None), timeout=30).status_code in (
        403,
        200,  # an S3 that enforces no policy serves anything (LocalStack)
    )


def test_check_storage_records_what_the_store_checks_and_health_shows_it(
    anonymous: Any,
) -> None:
    out = io.StringIO()
    call_command("check_storage", stdout=out)
    row = StorageCapabilities.objects.get()
    assert f"integrity path: {StorageCapabilities.IntegrityPath(row.integrity_path).label}" in (
        out.getvalue()
    )
    again = storage_probe()
    assert (again.verifies_sha256, again.honours_if_none_match) == (
        row.verifies_sha256,
        row.honours_if_none_match,
    )
    shown = anonymous.get("/api/health/").json()["storageCapabilities"]
    assert shown["integrityPath"] == row.integrity_path
    assert shown["enforcesBucketPolicy"] == row.enforces_bucket_policy


@pytest.mark.parametrize(
    "header",
    [
        {"x-amz-tagging": "public=true"},
        {"x-amz-acl": "public-read"},
        {"x-amz-grant-full-control": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
    ],
)
def test_a_project_session_url_refuses_headers_that_would_make_the_bytes_public(
    submitter: Any, header: dict[str, str]
) -> None:
    # given a session's PUT URL, which signs nothing but the host (ArtifactDB clients send the
    # bytes alone): the bucket policy (RGW) or the signature check (LocalStack) refuses these
    from tests.projects.conftest import started

    answer = started(submitter, ["report.txt"])
    sent = requests.put(
        answer["presigned_urls"]["report.txt"], data=DATA, headers=header, timeout=30
    )
    assert sent.status_code == 403
    assert s3.head(key=f"files/{answer['file_ids']['report.txt']}") is None
