"""Listing, detail, download, versions and soft delete of files."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from groups.models import Membership
from tests.conftest import confirm, sha256_hex, upload_file
from tests.presigned import parse_presigned

pytestmark = pytest.mark.django_db


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def test_download_url_is_a_short_lived_attachment_of_the_verified_version(submitter: Any) -> None:
    body = upload_file(submitter, b"ACGT" * 10, name="Zürich.fastq")
    response = submitter.client.get(f"/api/files/{body['fileId']}/download?redirect=false")
    assert response.status_code == 200
    parsed = parse_presigned(response.json()["url"])
    assert parsed.key == f"files/{body['fileId']}"
    assert parsed.expires_in == 300
    assert parsed.signed_headers == ["host"]
    assert parsed.params["versionId"] == File.objects.get(pk=body["fileId"]).s3_version_id
    assert parsed.params["response-content-disposition"] == (
        "attachment; filename*=utf-8''Z%C3%BCrich.fastq"
    )
    fetched = requests.get(response.json()["url"], timeout=30)
    assert fetched.content == b"ACGT" * 10


def test_every_download_url_is_audited(submitter: Any) -> None:
    body = upload_file(submitter, b"data")
    for _ in range(2):
        assert submitter.client.get(f"/api/files/{body['fileId']}/download").status_code == 307
    events = AuditEvent.objects.filter(action="file.download_url_issued", object_id=body["fileId"])
    assert events.count() == 2
    assert {e.actor_id for e in events} == {submitter.user.pk}


def test_another_groups_file_answers_404_everywhere(submitter: Any, stranger: Any) -> None:
    file_id = upload_file(submitter, b"data")["fileId"]
    for method, path in [
        ("get", f"/api/files/{file_id}/"),
        ("get", f"/api/files/{file_id}/download"),
        ("post", f"/api/files/{file_id}/confirm"),
        ("delete", f"/api/files/{file_id}/"),
    ]:
        response = getattr(stranger.client, method)(path)
        assert response.status_code == 404, path
        assert error_code(response) == "file_not_found"
    assert stranger.client.get("/api/files/").json()["count"] == 0


def test_anonymous_download_of_a_private_file_answers_404(submitter: Any, anonymous: Any) -> None:
    file_id = upload_file(submitter, b"data")["fileId"]
    assert anonymous.get(f"/api/files/{file_id}/download").status_code == 404


def test_malformed_file_id_answers_404(submitter: Any) -> None:
    response = submitter.client.get("/api/files/not-a-uuid/")
    assert response.status_code == 404
    assert error_code(response) == "file_not_found"


def test_confirm_before_upload_answers_409_file_not_uploaded(submitter: Any) -> None:
    [ticket] = submitter.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    ).json()
    response = confirm(submitter, ticket["fileId"])
    assert response.status_code == 409
    assert error_code(response) == "file_not_uploaded"
    assert File.objects.get(pk=ticket["fileId"]).status == "requested"


def test_download_of_an_unverified_file_answers_409(submitter: Any) -> None:
    [ticket] = submitter.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    ).json()
    response = submitter.client.get(f"/api/files/{ticket['fileId']}/download")
    assert response.status_code == 409
    assert error_code(response) == "file_not_verified"


def test_same_name_makes_a_new_version_and_never_overwrites(submitter: Any) -> None:
    first = upload_file(submitter, b"version one", name="sample.bam")
    second = upload_file(submitter, b"version two!", name="sample.bam")
    assert (first["version"], second["version"]) == (1, 2)
    assert first["fileId"] != second["fileId"]

    listing = submitter.client.get("/api/files/?name=sample.bam").json()
    assert [f["fileId"] for f in listing["results"]] == [second["fileId"]]
    every = submitter.client.get("/api/files/?name=sample.bam&all_versions=true").json()
    assert {f["version"] for f in every["results"]} == {1, 2}

    for body, data in [(first, b"version one"), (second, b"version two!")]:
        url = submitter.client.get(f"/api/files/{body['fileId']}/download")["Location"]
        assert requests.get(url, timeout=30).content == data


def test_listing_filters_and_paginates(submitter: Any, make_actor: Any) -> None:
    verified = upload_file(submitter, b"abc", name="v.fq")
    submitter.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "files": [{"name": "r.fq"}]},
        format="json",
    )
    other = make_actor(group=None)
    assert other.client.get("/api/files/").json()["count"] == 0

    by_status = submitter.client.get("/api/files/?status=verified").json()
    assert [f["fileId"] for f in by_status["results"]] == [verified["fileId"]]
    assert submitter.client.get(f"/api/files/?group={submitter.group.pk}").json()["count"] == 2
    assert submitter.client.get("/api/files/?released=true").json()["count"] == 0
    assert submitter.client.get("/api/files/?released=false").json()["count"] == 2
    page = submitter.client.get("/api/files/?page_size=1").json()
    assert page["count"] == 2
    assert len(page["results"]) == 1
    assert page["next"]
    bad = submitter.client.get("/api/files/?status=lost")
    assert bad.status_code == 400
    assert error_code(bad) == "invalid_input"


def test_uploader_soft_deletes_and_the_object_stays(submitter: Any) -> None:
    body = upload_file(submitter, b"keep me")
    response = submitter.client.delete(f"/api/files/{body['fileId']}/")
    assert response.status_code == 200
    assert response.json()["deletedAt"] is not None
    assert submitter.client.get("/api/files/").json()["count"] == 0
    download = submitter.client.get(f"/api/files/{body['fileId']}/download")
    assert download.status_code == 409
    assert error_code(download) == "file_deleted"
    again = submitter.client.delete(f"/api/files/{body['fileId']}/")
    assert again.status_code == 409
    assert error_code(again) == "file_deleted"
    assert s3.head(key=f"files/{body['fileId']}") is not None
    assert AuditEvent.objects.filter(action="file.deleted", object_id=body["fileId"]).count() == 1


def test_only_uploader_or_group_admin_may_delete(submitter: Any, make_actor: Any) -> None:
    body = upload_file(submitter, b"data")
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    refused = member.client.delete(f"/api/files/{body['fileId']}/")
    assert refused.status_code == 403
    assert error_code(refused) == "not_allowed"
    admin = make_actor(group=submitter.group, role=Membership.Role.ADMIN)
    assert admin.client.delete(f"/api/files/{body['fileId']}/").status_code == 200


def test_deleting_the_newest_version_shows_the_previous_one(submitter: Any) -> None:
    first = upload_file(submitter, b"one", name="s.fq")
    second = upload_file(submitter, b"two", name="s.fq")
    submitter.client.delete(f"/api/files/{second['fileId']}/")
    listing = submitter.client.get("/api/files/").json()
    assert [f["fileId"] for f in listing["results"]] == [first["fileId"]]
    third = upload_file(submitter, b"three", name="s.fq")
    assert third["version"] == 3


def test_confirm_is_idempotent_once_verified(submitter: Any) -> None:
    body = upload_file(submitter, b"data")
    again = confirm(submitter, body["fileId"])
    assert again.status_code == 200
    assert again.json()["status"] == "verified"
    assert AuditEvent.objects.filter(action="file.verified", object_id=body["fileId"]).count() == 1


def test_file_detail_shows_what_a_user_needs(submitter: Any) -> None:
    body = upload_file(submitter, b"xyz", name="d.fq")
    assert body["groupId"] == submitter.group.pk
    assert body["uploader"] == submitter.user.username
    assert body["declaredSize"] == 3
    assert body["size"] == 3
    assert body["declaredSha256"] == sha256_hex(b"xyz")
    assert body["verifiedAt"] is not None
    assert body["deletedAt"] is None
