"""POST /api/files/confirm: many single-PUT uploads confirmed in one request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import TestCase, override_settings

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, StorageCapabilities
from filesharing.services.storage import storage_capabilities, storage_probe
from tests.conftest import put_with_ticket, sha256_hex

pytestmark = pytest.mark.django_db


def request(actor: Any, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = actor.client.post(
        "/api/files/request-uploads", {"groupId": actor.group.pk, "files": specs}, format="json"
    )
    assert response.status_code == 200, response.content
    return list(response.json())


def confirm_batch(actor: Any, file_ids: list[Any]) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return actor.client.post("/api/files/confirm", {"fileIds": file_ids}, format="json")


def test_declared_files_are_verified_by_the_batch_itself(submitter: Any) -> None:
    # given three files sent with their declared size and SHA-256
    contents = [f"reads {i}".encode() * 100 for i in range(3)]
    tickets = request(
        submitter,
        [
            {"name": f"r{i}.fq", "size": len(data), "sha256": sha256_hex(data)}
            for i, data in enumerate(contents)
        ],
    )
    for ticket, data in zip(tickets, contents, strict=True):
        assert put_with_ticket(ticket, data).status_code == 200

    # when they are confirmed in one request (no task is run)
    ids = [ticket["fileId"] for ticket in tickets]
    response = submitter.client.post("/api/files/confirm", {"fileIds": ids}, format="json")

    # then each answers verified, in order, with S3's size and SHA-256, and the rows agree
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refused"] == []
    assert [f["fileId"] for f in body["confirmed"]] == ids
    assert {f["status"] for f in body["confirmed"]} == {"verified"}
    for file_id, data in zip(ids, contents, strict=True):
        file = File.objects.get(pk=file_id)
        assert (file.status, file.size, file.sha256) == ("verified", len(data), sha256_hex(data))
        assert file.s3_version_id
    assert AuditEvent.objects.filter(action="file.verified", object_id__in=ids).count() == 3


def test_each_file_that_cannot_be_confirmed_is_refused_with_its_own_code(
    submitter: Any, stranger: Any
) -> None:
    # given a sent file, a file never sent, a deleted one, a failed one and another group's file
    data = b"ACGT" * 64
    sent, missing, deleted, failed = request(
        submitter,
        [
            {"name": "sent.fq", "size": len(data), "sha256": sha256_hex(data)},
            {"name": "missing.fq"},
            {"name": "deleted.fq"},
            {"name": "failed.fq"},
        ],
    )
    put_with_ticket(sent, data)
    File.objects.filter(pk=deleted["fileId"]).update(deleted_at="2026-01-01T00:00:00Z")
    File.objects.filter(pk=failed["fileId"]).update(status="failed", failure_reason="size")
    [foreign] = request(stranger, [{"name": "theirs.fq"}])
    unknown = str(uuid.uuid4())

    # when all are confirmed together
    ids = [sent, missing, deleted, failed, foreign]
    ids = [ticket["fileId"] for ticket in ids] + [unknown]
    response = confirm_batch(submitter, ids)

    # then the sent one is verified and each other is refused with the single confirm's code
    assert response.status_code == 200
    body = response.json()
    assert [f["fileId"] for f in body["confirmed"]] == [sent["fileId"]]
    refused = {item["fileId"]: item["error"]["code"] for item in body["refused"]}
    assert refused == {
        missing["fileId"]: "file_not_uploaded",
        deleted["fileId"]: "file_deleted",
        failed["fileId"]: "file_failed",
        foreign["fileId"]: "file_not_found",
        unknown: "file_not_found",
    }
    assert File.objects.get(pk=missing["fileId"]).status == "requested"
    assert File.objects.get(pk=foreign["fileId"]).status == "requested"
    assert not AuditEvent.objects.filter(object_id=foreign["fileId"], action="file.uploaded")


def test_undeclared_content_is_marked_uploaded_and_verified_by_the_task(submitter: Any) -> None:
    [ticket] = request(submitter, [{"name": "plain.fq"}])
    put_with_ticket(ticket, b"no checksum declared")
    response = submitter.client.post(
        "/api/files/confirm", {"fileIds": [ticket["fileId"]]}, format="json"
    )
    assert response.json()["confirmed"][0]["status"] == "uploaded"
    assert File.objects.get(pk=ticket["fileId"]).status == "uploaded"
    # when the verification it queues runs, it hashes the object
    assert confirm_batch(submitter, [ticket["fileId"]]).status_code == 200
    file = File.objects.get(pk=ticket["fileId"])
    assert (file.status, file.sha256) == ("verified", sha256_hex(b"no checksum declared"))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid_input"),
        ({"fileIds": []}, "invalid_input"),
        ({"fileIds": ["not-a-uuid"]}, "invalid_input"),
        ({"fileIds": "abc"}, "invalid_input"),
        ({"fileIds": ["6f1c2f8e-7b9a-4c3d-9e2f-1a2b3c4d5e6f"] * 2}, "invalid_input"),
    ],
)
def test_malformed_requests_answer_400_and_change_nothing(
    submitter: Any, body: dict[str, Any], code: str
) -> None:
    [ticket] = request(submitter, [{"name": "kept.fq"}])
    response = submitter.client.post("/api/files/confirm", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert File.objects.get(pk=ticket["fileId"]).status == "requested"


@override_settings(MAX_FILES_PER_REQUEST=2)
def test_more_files_than_a_request_may_hold_answers_too_many_files(submitter: Any) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    response = submitter.client.post("/api/files/confirm", {"fileIds": ids}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"


def test_anonymous_callers_are_refused(anonymous: Any) -> None:
    response = anonymous.post("/api/files/confirm", {"fileIds": [str(uuid.uuid4())]}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


class S3Calls:
    """The S3 operations this thread's client sends (a batch of one is read in this thread)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __enter__(self) -> S3Calls:
        s3.client().meta.events.register("provide-client-params.s3", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        s3.client().meta.events.unregister("provide-client-params.s3", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)


def sent_file(actor: Any, name: str, data: bytes) -> str:
    [ticket] = request(actor, [{"name": name, "size": len(data), "sha256": sha256_hex(data)}])
    assert put_with_ticket(ticket, data).status_code == 200
    return str(ticket["fileId"])


def test_where_a_head_counts_tags_an_untagged_object_is_verified_without_reading_its_tags(
    submitter: Any,
) -> None:
    if not storage_capabilities().reports_tag_count:
        pytest.skip("this S3 does not report tag counts on HEAD")
    # given a file sent as its ticket says, and one whose object got a tag after its PUT
    clean = sent_file(submitter, "clean.fq", b"ACGT" * 500)
    tagged = sent_file(submitter, "tagged.fq", b"TTGA" * 500)
    s3.set_object_tags(key=f"files/{tagged}", tags={"public": "true"})

    # when each is confirmed
    with S3Calls() as clean_calls:
        first = confirm_batch(submitter, [clean])
    with S3Calls() as tagged_calls:
        second = confirm_batch(submitter, [tagged])

    # then both are verified; only the tagged object's tags were read, and they are gone
    assert [f["status"] for f in first.json()["confirmed"]] == ["verified"]
    assert [f["status"] for f in second.json()["confirmed"]] == ["verified"]
    assert "GetObjectTagging" not in clean_calls.names
    assert clean_calls.names.count("HeadObject") == 1
    assert tagged_calls.names.count("GetObjectTagging") == 1
    file = File.objects.get(pk=tagged)
    assert s3.object_tags(key=file.key, version_id=file.s3_version_id) == {}
    removed = AuditEvent.objects.get(action="file.foreign_tags_removed", object_id=tagged)
    assert removed.details["tags"] == {"public": "true"}


def test_where_a_head_is_not_known_to_count_tags_every_object_s_tags_are_read(
    submitter: Any,
) -> None:
    # given a store recorded as not reporting tag counts, and a file sent as its ticket says
    found = storage_probe()
    StorageCapabilities.objects.filter(pk=found.pk).update(reports_tag_count=False)
    clean = sent_file(submitter, "clean.fq", b"ACGT" * 500)

    # when it is confirmed
    with S3Calls() as calls:
        response = confirm_batch(submitter, [clean])

    # then its tags were read before it was verified
    assert [f["status"] for f in response.json()["confirmed"]] == ["verified"]
    assert calls.names.count("GetObjectTagging") == 1
