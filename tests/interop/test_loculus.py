"""Loculus's file API spoken exactly as Loculus's preprocessing pipeline and website speak it:
query parameters and no body, answers with exactly Loculus's keys, problem-detail errors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.test import TestCase, override_settings

from filesharing.models import File, MultipartUpload
from filesharing.services import file_verify
from groups.models import Group
from tests.conftest import Actor
from tests.interop.conftest import READS, entry_citing, loculus_file, problem
from tests.presigned import parse_presigned

pytestmark = pytest.mark.django_db
MIB = 1024**2


@dataclass
class FileUploadInfo:
    """The record Loculus's pipeline builds from each item: `FileUploadInfo(**item)`."""

    fileId: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


# No size, no checksum declared: only our own hash of the object can verify it.
@override_settings(VERIFY_HASH_MAX_BYTES=0)
@pytest.mark.parametrize("prefix", ["/loculus", ""])
def test_request_upload_answers_loculus_records_and_the_file_is_verified_by_our_hash(
    submitter: Actor, prefix: str
) -> None:
    # given Loculus's pipeline asking for two upload URLs, with no body
    assert submitter.group is not None
    response = submitter.client.post(
        f"{prefix}/files/request-upload?groupId={submitter.group.pk}&numberFiles=2"
    )

    # then each item has exactly Loculus's three keys and builds its record
    assert response.status_code == 200, response.content
    items = response.json()
    assert len(items) == 2
    assert all(set(item) == {"fileId", "url", "headers"} for item in items)
    records = [FileUploadInfo(**item) for item in items]
    assert records[0].headers == {"If-None-Match": "*"}
    url = parse_presigned(records[0].url)
    assert url.key == f"files/{records[0].fileId}"
    assert "if-none-match" in url.signed_headers

    # when it PUTs an EMBL file as its pipeline does (its content type, the answered headers)
    data = b"ID   LOC_0001.1; SV 1; linear; genomic DNA\n" * 1000
    put = requests.put(
        records[0].url,
        data=data,
        headers={"Content-Type": "chemical/x-embl-dl-nucleotide", **records[0].headers},
        timeout=30,
    )
    assert put.status_code == 200, put.text

    # then the file is verified with the SHA-256 seqvault computed over the whole object
    file = file_verify(file_id=records[0].fileId)
    assert file.status == File.Status.VERIFIED
    assert file.size == len(data)
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert File.objects.get(pk=records[1].fileId).status == File.Status.REQUESTED


def test_request_upload_errors_are_problem_details(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    assert submitter.group is not None
    group = submitter.group.pk
    before = File.objects.count()

    missing = problem(submitter.client.post("/loculus/files/request-upload?numberFiles=1"))
    assert missing["status"] == 400 and missing["code"] == "invalid_input"
    assert missing["detail"].startswith("groupId:")
    assert missing["instance"] == "/loculus/files/request-upload"

    zero = submitter.client.post(f"/loculus/files/request-upload?groupId={group}&numberFiles=0")
    assert problem(zero)["status"] == 400
    assert "numberFiles" in problem(zero)["detail"]

    many = submitter.client.post(
        f"/loculus/files/request-upload?groupId={group}&numberFiles=100000"
    )
    assert many.status_code == 400 and problem(many)["code"] == "too_many_files"

    other = stranger.client.post(f"/loculus/files/request-upload?groupId={group}")
    assert other.status_code == 404 and problem(other)["code"] == "group_not_found"

    unauthenticated = anonymous.post(f"/loculus/files/request-upload?groupId={group}")
    assert unauthenticated.status_code == 401
    assert unauthenticated["WWW-Authenticate"].startswith("Bearer")
    assert problem(unauthenticated)["code"] == "not_authenticated"

    # a group with a storage quota counts declared sizes, and Loculus declares none
    Group.objects.filter(pk=group).update(quota_bytes=10**9)
    quota = submitter.client.post(f"/loculus/files/request-upload?groupId={group}")
    assert quota.status_code == 400 and problem(quota)["code"] == "size_required"

    assert File.objects.count() == before


def test_the_pipeline_may_upload_for_any_group(submitter: Actor, make_actor: Any) -> None:
    pipeline = make_actor(pipeline=True)
    assert submitter.group is not None
    response = pipeline.client.post(f"/files/request-upload?groupId={submitter.group.pk}")
    assert response.status_code == 200, response.content
    [item] = response.json()
    assert File.objects.get(pk=item["fileId"]).group == submitter.group


def _upload_parts(urls: list[str], parts: list[bytes]) -> list[str]:
    """As Loculus's website does: a plain PUT of each part, the ETag header kept as sent."""
    etags = []
    for url, part in zip(urls, parts, strict=True):
        response = requests.put(url, data=part, timeout=60)
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])
    return etags


# The parts carried no checksum: the verifier must hash the object whatever its size.
@override_settings(MULTIPART_VERIFY_HASH_MAX_BYTES=0)
def test_multipart_upload_as_the_website_does_it_is_verified_by_our_hash(
    submitter: Actor,
) -> None:
    # given the website asking for one file of two parts
    assert submitter.group is not None
    response = submitter.client.post(
        f"/loculus/files/request-multipart-upload?groupId={submitter.group.pk}"
        "&numberFiles=1&numberParts=2"
    )
    assert response.status_code == 200, response.content
    [item] = response.json()
    assert set(item) == {"fileId", "urls"}
    assert len(item["urls"]) == 2
    first = parse_presigned(item["urls"][0])
    assert first.key == f"files/{item['fileId']}"
    assert first.params["partNumber"] == "1"
    assert first.signed_headers == ["host"]
    assert first.expires_in == 12 * 3600

    # when it PUTs both parts and completes with their ETags
    data = bytes(range(256)) * (6 * MIB // 256) + b"tail of the file"
    parts = [data[: 5 * MIB], data[5 * MIB :]]
    etags = _upload_parts(item["urls"], parts)
    with TestCase.captureOnCommitCallbacks(execute=True):
        completed = submitter.client.post(
            "/loculus/files/complete-multipart-upload",
            [{"fileId": item["fileId"], "etags": etags}],
            format="json",
        )

    # then the answer is an empty 200, and the file is verified with our whole-object hash
    assert completed.status_code == 200, completed.content
    assert completed.content == b""
    file = File.objects.get(pk=item["fileId"])
    assert file.status == File.Status.VERIFIED
    assert file.size == len(data)
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    upload = MultipartUpload.objects.get(file=file)
    assert upload.status == MultipartUpload.Status.ACCEPTED
    assert upload.checksum_algorithm == ""

    # and completing again is refused as Loculus refuses it
    again = submitter.client.post(
        "/loculus/files/complete-multipart-upload",
        [{"fileId": item["fileId"], "etags": etags}],
        format="json",
    )
    assert again.status_code == 422
    assert "already been completed" in problem(again)["detail"]


def test_multipart_completion_refusals(submitter: Actor, stranger: Actor) -> None:
    assert submitter.group is not None
    [item] = submitter.client.post(
        f"/loculus/files/request-multipart-upload?groupId={submitter.group.pk}&numberParts=2"
    ).json()
    etags = _upload_parts(item["urls"], [b"x" * (5 * MIB), b"y" * 10])

    def complete(actor: Actor, body: Any) -> Any:
        return actor.client.post("/loculus/files/complete-multipart-upload", body, format="json")

    # a wrong ETag, a missing part, no ETags, and someone else's file are all refused
    wrong = complete(submitter, [{"fileId": item["fileId"], "etags": [etags[0], '"0000"']}])
    assert wrong.status_code == 422
    assert problem(wrong)["code"] == "multipart_etag_mismatch"
    short = complete(submitter, [{"fileId": item["fileId"], "etags": etags[:1]}])
    assert short.status_code == 422
    assert problem(short)["code"] == "multipart_parts_incomplete"
    empty = complete(submitter, [{"fileId": item["fileId"], "etags": []}])
    assert empty.status_code == 422 and problem(empty)["code"] == "etags_required"
    hidden = complete(stranger, [{"fileId": item["fileId"], "etags": etags}])
    assert hidden.status_code == 422
    assert problem(hidden)["code"] == "multipart_upload_not_pending"
    malformed = complete(submitter, {"fileId": item["fileId"]})
    assert malformed.status_code == 400 and problem(malformed)["code"] == "invalid_input"

    # nothing was completed meanwhile
    upload = MultipartUpload.objects.get(file_id=item["fileId"])
    assert upload.status == MultipartUpload.Status.PENDING
    # and seqvault's own part-URL endpoint explains why it cannot sign more parts
    more = submitter.client.post(f"/api/multipart_uploads/{upload.pk}/part/1/presigned_post")
    assert more.status_code == 409
    assert more.json()["error"]["code"] == "multipart_parts_presigned"


def test_multipart_request_limits(submitter: Actor) -> None:
    assert submitter.group is not None
    base = f"/loculus/files/request-multipart-upload?groupId={submitter.group.pk}"
    before = File.objects.count()
    parts = submitter.client.post(f"{base}&numberParts=10001")
    assert parts.status_code == 400 and problem(parts)["code"] == "invalid_part_count"
    urls = submitter.client.post(f"{base}&numberFiles=3&numberParts=5000")
    assert urls.status_code == 400 and problem(urls)["code"] == "too_many_parts"
    with override_settings(MAX_PENDING_UPLOADS_PER_GROUP=2):
        crowded = submitter.client.post(f"{base}&numberFiles=3")
    assert crowded.status_code == 429 and problem(crowded)["code"] == "too_many_pending_uploads"
    assert crowded["Retry-After"] == "60"
    assert File.objects.count() == before


def test_files_get_redirects_to_the_bytes_for_those_who_may_read_them(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    assert submitter.group is not None
    private = loculus_file(submitter, READS)
    public = loculus_file(submitter, READS + b"public")
    entry_citing(submitter.group, private, accession="SV_000001", released=False)
    entry_citing(submitter.group, public, accession="SV_000002", released=True)

    # the released file: anyone, GET and HEAD
    path = "/loculus/files/get/SV_000002/1/raw_reads/reads.fastq"
    redirect = anonymous.get(path)
    assert redirect.status_code == 307
    assert requests.get(redirect["Location"], timeout=30).content == READS + b"public"
    head = anonymous.head(path)
    assert head.status_code == 307
    assert requests.head(head["Location"], timeout=30).status_code == 200

    # the unreleased file: its group gets a presigned GET, and a presigned HEAD for HEAD
    path = "/loculus/files/get/SV_000001/1/raw_reads/reads.fastq"
    own = submitter.client.get(path)
    assert own.status_code == 307
    assert parse_presigned(own["Location"]).key == f"files/{private.pk}"
    assert requests.get(own["Location"], timeout=30).content == READS
    head = submitter.client.head(path)
    assert requests.head(head["Location"], timeout=30).status_code == 200
    assert requests.get(head["Location"], timeout=30).status_code == 403  # signed for HEAD

    # others: authentication needed (anonymous), not found (signed in), as for a missing file
    refused = anonymous.get(path)
    assert refused.status_code == 401 and problem(refused)["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert problem(stranger.client.get(path))["status"] == 404
    missing = stranger.client.get("/loculus/files/get/SV_000002/1/raw_reads/other.fastq")
    assert problem(missing)["status"] == 404
