"""POST /api/files/request-uploads: rows, presigned PUTs that S3 enforces, and every refusal."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from groups.models import Membership
from tests.conftest import confirm, put_with_ticket, sha256_hex, upload_file
from tests.presigned import parse_presigned

pytestmark = pytest.mark.django_db

DATA = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 50


def request_uploads(actor: Any, files: list[dict[str, Any]] | None = None, **body: Any) -> Any:
    payload = {"groupId": actor.group.pk, **body}
    if files is not None:
        payload["files"] = files
    return actor.client.post("/api/files/request-uploads", payload, format="json")


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


@pytest.mark.django_db(transaction=True)
def test_whole_flow_request_put_confirm_download_returns_the_same_bytes(submitter: Any) -> None:
    # given a declared file
    response = request_uploads(
        submitter, [{"name": "run1.fastq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    )
    assert response.status_code == 200
    [ticket] = response.json()
    assert set(ticket) == {"fileId", "name", "version", "url", "method", "headers", "expiresAt"}
    assert File.objects.get(pk=ticket["fileId"]).status == "requested"

    # when the bytes go to S3 and the upload is confirmed
    assert put_with_ticket(ticket, DATA).status_code == 200
    confirmed = submitter.client.post(f"/api/files/{ticket['fileId']}/confirm")

    # then the file is verified with what S3 holds
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "verified"
    assert body["size"] == len(DATA)
    assert body["sha256"] == sha256_hex(DATA)
    facts = s3.head(key=f"files/{ticket['fileId']}")
    assert facts is not None
    assert facts.size == len(DATA)
    assert facts.sha256_hex == sha256_hex(DATA)

    # and the download redirects to the same bytes
    download = submitter.client.get(f"/api/files/{ticket['fileId']}/download")
    assert download.status_code == 307
    import requests

    fetched = requests.get(download["Location"], timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == DATA
    assert fetched.headers["Content-Disposition"] == 'attachment; filename="run1.fastq"'
    actions = set(
        AuditEvent.objects.filter(object_id=ticket["fileId"]).values_list("action", flat=True)
    )
    assert actions == {
        "file.upload_requested",
        "file.uploaded",
        "file.verified",
        "file.download_url_issued",
    }


def test_upload_url_signs_method_key_lifetime_and_declared_headers(submitter: Any) -> None:
    response = request_uploads(
        submitter,
        [
            {
                "name": "a.bam",
                "size": 10,
                "sha256": sha256_hex(b"0123456789"),
                "contentType": "application/octet-stream",
            }
        ],
    )
    [ticket] = response.json()
    parsed = parse_presigned(ticket["url"])
    assert ticket["method"] == "PUT"
    assert parsed.key == f"files/{ticket['fileId']}"
    assert parsed.expires_in == 30 * 60
    assert parsed.signed_headers == [
        "content-length",
        "content-type",
        "host",
        "if-none-match",
        "x-amz-acl",
        "x-amz-checksum-sha256",
        "x-amz-tagging",
    ]
    assert ticket["headers"] == {
        "If-None-Match": "*",
        "Content-Length": "10",
        "x-amz-checksum-sha256": s3.sha256_b64(sha256_hex(b"0123456789")),
        "Content-Type": "application/octet-stream",
        # Signed so that nobody can add a public tag or ACL to the upload.
        "x-amz-acl": "bucket-owner-full-control",
        "x-amz-tagging": "",
    }


def test_undeclared_upload_signs_host_if_none_match_and_guards(submitter: Any) -> None:
    [ticket] = request_uploads(submitter, numberFiles=1).json()
    parsed = parse_presigned(ticket["url"])
    assert parsed.signed_headers == ["host", "if-none-match", "x-amz-acl", "x-amz-tagging"]
    assert ticket["name"] == ""


def test_number_files_creates_that_many_unnamed_files(submitter: Any) -> None:
    response = request_uploads(submitter, numberFiles=3)
    assert response.status_code == 200
    ids = [t["fileId"] for t in response.json()]
    assert len(set(ids)) == 3
    assert File.objects.filter(pk__in=ids, group=submitter.group, status="requested").count() == 3


def test_sha256_may_be_declared_in_base64(submitter: Any) -> None:
    b64 = s3.sha256_b64(sha256_hex(DATA))
    [ticket] = request_uploads(
        submitter, [{"name": "x.fq", "size": len(DATA), "sha256": b64}]
    ).json()
    assert File.objects.get(pk=ticket["fileId"]).declared_sha256 == sha256_hex(DATA)
    assert put_with_ticket(ticket, DATA).status_code == 200


def test_s3_refuses_other_bytes_than_the_declared_sha256(submitter: Any) -> None:
    [ticket] = request_uploads(
        submitter, [{"name": "x.fq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    ).json()
    other = DATA[:-1] + b"X"
    refused = put_with_ticket(ticket, other)
    assert refused.status_code == 400
    assert "BadDigest" in refused.text
    response = confirm(submitter, ticket["fileId"])
    assert response.status_code == 409
    assert error_code(response) == "file_not_uploaded"
    assert s3.head(key=f"files/{ticket['fileId']}") is None


def test_s3_refuses_a_body_of_another_size(submitter: Any) -> None:
    [ticket] = request_uploads(submitter, [{"name": "x.fq", "size": len(DATA)}]).json()
    refused = put_with_ticket(ticket | {"headers": {"If-None-Match": "*"}}, DATA + b"extra")
    assert refused.status_code == 403
    assert s3.head(key=f"files/{ticket['fileId']}") is None


def test_a_second_put_to_the_same_url_fails_and_keeps_the_first_bytes(submitter: Any) -> None:
    [ticket] = request_uploads(submitter, [{"name": "x.fq"}]).json()
    assert put_with_ticket(ticket, DATA).status_code == 200
    second = put_with_ticket(ticket, b"overwrite attempt")
    assert second.status_code == 412
    facts = s3.head(key=f"files/{ticket['fileId']}")
    assert facts is not None
    assert facts.size == len(DATA)


def test_an_expired_upload_url_is_refused(submitter: Any) -> None:
    with override_settings(UPLOAD_URL_LIFETIME=timedelta(seconds=1)):
        [ticket] = request_uploads(submitter, [{"name": "x.fq"}]).json()
    assert parse_presigned(ticket["url"]).expires_in == 1
    time.sleep(2.1)
    refused = put_with_ticket(ticket, DATA)
    assert refused.status_code == 403
    assert "expired" in refused.text.lower()


def test_a_tampered_upload_url_is_refused(submitter: Any) -> None:
    [ticket] = request_uploads(submitter, [{"name": "x.fq"}]).json()
    other_key = ticket["url"].replace(ticket["fileId"], "00000000-0000-0000-0000-000000000000")
    assert put_with_ticket(ticket | {"url": other_key}, DATA).status_code == 403


def test_object_differing_from_the_declaration_ends_failed_with_a_reason(
    submitter: Any, s3_client: Any
) -> None:
    # given an object that reached the bucket without going through the signed URL
    [ticket] = request_uploads(
        submitter, [{"name": "x.fq", "size": len(DATA), "sha256": sha256_hex(DATA)}]
    ).json()
    s3_client.put_object(Bucket=s3.bucket(), Key=f"files/{ticket['fileId']}", Body=b"short")
    # when it is confirmed
    response = confirm(submitter, ticket["fileId"])
    # then verification fails and says why
    body = submitter.client.get(f"/api/files/{ticket['fileId']}/").json()
    assert response.status_code == 202
    assert body["status"] == "failed"
    assert body["size"] is None
    assert "differs from the declared" in body["failureReason"]
    again = confirm(submitter, ticket["fileId"])
    assert again.status_code == 409
    assert error_code(again) == "file_failed"


def test_undeclared_file_gets_its_sha256_recorded(submitter: Any) -> None:
    body = upload_file(submitter, DATA, declare=False)
    assert body["status"] == "verified"
    assert body["sha256"] == sha256_hex(DATA)
    assert body["size"] == len(DATA)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("a" * 256, "longer than 255"),
        ("bad name.fq", "whitespace"),
        ("a/b.fq", "forbidden character '/'"),
        ("..", "relative path"),
        ("a\x07b", "control character"),
        ('x"y', "forbidden character"),
        ("tab\there", "whitespace"),
    ],
)
def test_bad_names_are_refused_with_a_clear_code(submitter: Any, name: str, problem: str) -> None:
    response = request_uploads(submitter, [{"name": "ok.fq"}, {"name": name}])
    assert response.status_code == 400
    assert error_code(response) == "invalid_filename"
    assert problem in response.json()["error"]["message"]
    assert "files[1]" in response.json()["error"]["message"]
    assert File.objects.count() == 0


def test_unicode_names_are_fine(submitter: Any) -> None:
    response = request_uploads(submitter, [{"name": "Probe_Zürich_μ.fastq"}])
    assert response.status_code == 200


def test_unknown_group_answers_404(submitter: Any) -> None:
    response = submitter.client.post(
        "/api/files/request-uploads", {"groupId": 999999, "numberFiles": 1}, format="json"
    )
    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


def test_foreign_group_answers_404_and_stores_nothing(submitter: Any, stranger: Any) -> None:
    response = stranger.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    )
    assert response.status_code == 404
    assert error_code(response) == "group_not_found"
    assert File.objects.count() == 0


def test_anonymous_caller_answers_401(anonymous: Any, submitter: Any) -> None:
    response = anonymous.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    )
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_pipeline_may_request_uploads_for_any_group(make_actor: Any, submitter: Any) -> None:
    pipeline = make_actor(pipeline=True)
    response = pipeline.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    )
    assert response.status_code == 200
    assert File.objects.get().uploader == pipeline.user


def test_plain_member_may_request_uploads(make_actor: Any, submitter: Any) -> None:
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    assert request_uploads(member, numberFiles=1).status_code == 200


@override_settings(MAX_FILE_SIZE=1000)
def test_size_over_the_limit_answers_413(submitter: Any) -> None:
    response = request_uploads(submitter, [{"name": "big.bam", "size": 1001}])
    assert response.status_code == 413
    assert error_code(response) == "file_too_large"
    assert File.objects.count() == 0


def test_huge_numbers_are_refused_cleanly(submitter: Any) -> None:
    response = request_uploads(submitter, [{"name": "big.bam", "size": 10**30}])
    assert response.status_code == 413
    assert error_code(response) == "file_too_large"


def test_quota_counts_uploads_in_progress(submitter: Any) -> None:
    submitter.group.quota_bytes = 1000
    submitter.group.save()
    assert request_uploads(submitter, [{"name": "a.fq", "size": 600}]).status_code == 200
    response = request_uploads(submitter, [{"name": "b.fq", "size": 401}])
    assert response.status_code == 413
    assert error_code(response) == "quota_exceeded"
    assert response.json()["error"]["details"] == {
        "quota_bytes": 1000,
        "used_bytes": 600,
        "requested": 401,
    }
    assert request_uploads(submitter, [{"name": "b.fq", "size": 400}]).status_code == 200


def test_quota_counts_verified_files(submitter: Any) -> None:
    upload_file(submitter, DATA)
    submitter.group.quota_bytes = len(DATA) + 10
    submitter.group.save()
    response = request_uploads(submitter, [{"name": "b.fq", "size": 11}])
    assert response.status_code == 413
    assert error_code(response) == "quota_exceeded"


def test_quota_groups_must_declare_sizes(submitter: Any) -> None:
    submitter.group.quota_bytes = 10**9
    submitter.group.save()
    response = request_uploads(submitter, numberFiles=2)
    assert response.status_code == 400
    assert error_code(response) == "size_required"


def test_more_than_1000_files_at_once_answers_400(submitter: Any) -> None:
    response = request_uploads(submitter, numberFiles=1001)
    assert response.status_code == 400
    assert error_code(response) == "too_many_files"
    response = request_uploads(submitter, [{"name": f"f{i}.fq"} for i in range(1001)])
    assert response.status_code == 400
    assert File.objects.count() == 0


def test_exactly_1000_files_are_accepted(submitter: Any) -> None:
    response = request_uploads(submitter, numberFiles=1000)
    assert response.status_code == 200
    assert len(response.json()) == 1000
    assert AuditEvent.objects.filter(action="file.upload_requested").count() == 1000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"numberFiles": 1, "files": [{"name": "a"}]},
        {"numberFiles": 0},
        {"numberFiles": "many"},
        {"files": []},
        {"files": "a.fq"},
        {"files": [{"name": "a.fq", "size": -1}]},
        {"files": [{"name": "a.fq", "sha256": "abc"}]},
    ],
)
def test_malformed_bodies_answer_400_and_store_nothing(
    submitter: Any, body: dict[str, Any]
) -> None:
    response = submitter.client.post(
        "/api/files/request-uploads", {"groupId": submitter.group.pk, **body}, format="json"
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_input"
    assert File.objects.count() == 0


def test_a_name_twice_in_one_request_is_refused(submitter: Any) -> None:
    response = request_uploads(submitter, [{"name": "a.fq"}, {"name": "a.fq"}])
    assert response.status_code == 400
    assert error_code(response) == "duplicate_filename"
