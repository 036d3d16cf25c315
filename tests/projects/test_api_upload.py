"""The upload session of ArtifactDB with real bytes: provisioning, presigned PUTs, the lock,
completion and its job, metadata with `_extra`, and every way completion fails."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from filesharing import s3
from filesharing.models import File
from projects.models import Project, ProjectVersion, UploadSession
from projects.tasks import complete_upload_task
from submissions.models import EntryFile, SequenceEntry
from tests.conftest import sha256_hex
from tests.presigned import parse_presigned
from tests.projects.conftest import (
    REPORT,
    complete,
    completed,
    job,
    md5_hex,
    put,
    put_all,
    report_metadata,
    start,
    started,
    uploaded_version,
)

pytestmark = pytest.mark.django_db

SEED_KEYS = {
    "project_id",
    "version",
    "revision",
    "presigned_urls",
    "links",
    "complete_before",
    "completion_url",
    "abort_url",
    "purge_job_id",
    "expires_in",
    "expires_job_id",
}


def test_journey_upload_put_complete_then_public_metadata(submitter: Any, anonymous: Any) -> None:
    # given a creator (member of the group named in the body) asking for a new project
    answer = started(submitter, ["report.txt", "report.txt.json"], completed_by="in 5 minutes")

    # then the answer has the seed's fields, version 1, revision NUM-1 and two PUT URLs
    assert set(answer) >= SEED_KEYS
    assert answer["version"] == "1"
    assert answer["revision"] == "NUM-1"
    assert answer["links"] == {}
    assert answer["expires_job_id"] is None
    project_id = answer["project_id"]
    assert answer["completion_url"].startswith(
        f"/projects/{project_id}/version/1/complete?revision=NUM-1&purge_job_id="
        f"{answer['purge_job_id']}"
    )
    deadline = datetime.fromisoformat(answer["complete_before"])
    assert timedelta(minutes=4) < deadline - timezone.now() <= timedelta(minutes=5)
    url = parse_presigned(answer["presigned_urls"]["report.txt"])
    assert url.key == f"files/{answer['file_ids']['report.txt']}"
    assert url.signed_headers == ["host"]  # a client sends the bytes and nothing else
    assert 280 < url.expires_in <= 300  # valid until the deadline
    assert job(answer["purge_job_id"])["status"] == "PENDING"

    # when the client PUTs both files with nothing but the body, and completes
    metadata = report_metadata()
    put_all(answer, {"report.txt": REPORT, "report.txt.json": metadata})
    response = complete(
        submitter.client,
        answer,
        {
            "owners": submitter.user.username,
            "read_access": "public",
            "write_access": "owners",
            "scope": "project",
        },
    )

    # then the completion is accepted with a job anyone may poll, which succeeded
    assert response.status_code == 202
    body = response.json()
    assert body == {
        "status": "accepted",
        "job_url": f"/jobs/{body['job_id']}",
        "job_id": body["job_id"],
    }
    done = job(body["job_id"])
    assert done["status"] == "SUCCESS"
    assert done["result"] == {
        "project_id": project_id,
        "version": "1",
        "revision": "NUM-1",
        "indexed_files": 1,
        "files": 2,
        "links": 0,
    }
    assert job(answer["purge_job_id"])["status"] == "REVOKED"

    # and the metadata is public, with ArtifactDB's _extra block
    served = anonymous.get(f"/api/projects/{project_id}/version/1/metadata")
    assert served.status_code == 200
    page = served.json()
    assert (page["count"], page["total"]) == (1, 1)
    [document] = page["results"]
    assert {k: v for k, v in document.items() if k != "_extra"} == {
        "source": "report.pl",
        "path": "report.txt",
        "md5sum": md5_hex(REPORT),
    }
    extra = document["_extra"]
    assert extra["id"] == f"{project_id}:report.txt@1"
    assert extra["metapath"] == "report.txt.json"
    assert (extra["project_id"], extra["version"], extra["revision"]) == (project_id, "1", "NUM-1")
    assert extra["numerical_revision"] == 1
    assert extra["file_size"] == len(REPORT)
    assert extra["$schema"] == "compiled_report/v1.json"
    assert extra["type"] == "compiled report"
    assert extra["permissions"] == {
        "owners": [submitter.user.username],
        "read_access": "public",
        "write_access": "owners",
        "scope": "project",
    }
    assert extra["uploaded"] and extra["meta_uploaded"] and extra["meta_indexed"]

    # and the project version is an entry version of the group with both files attached
    entry = SequenceEntry.objects.get(accession=project_id, version=1)
    assert entry.group == submitter.group
    attached = {a.name: a for a in EntryFile.objects.filter(entry=entry).select_related("file")}
    assert set(attached) == {"report.txt", "report.txt.json"}
    assert attached["report.txt"].category == "data"
    assert attached["report.txt"].file.sha256 == sha256_hex(REPORT)
    assert s3.read_object(key=attached["report.txt"].file.key, max_bytes=1000) == REPORT


def test_second_upload_while_locked_answers_423_in_the_seed_shape(submitter: Any) -> None:
    # given an upload in progress
    first = uploaded_version(submitter, {"a.txt": b"a"})
    answer = started(submitter, ["b.txt"], path=f"/api/projects/{first['project_id']}/upload")
    assert answer["version"] == "2"

    # when another upload to the same project starts, by any endpoint
    again = start(submitter, ["c.txt"], path=f"/api/projects/{first['project_id']}/upload")

    # then it is refused with ArtifactDB's lock answer, and nothing was provisioned
    assert again.status_code == 423
    reason = again.json()["reason"]
    assert again.json() == {"status": "error", "reason": reason}
    assert reason.startswith(f"Project '{first['project_id']}' is locked: {{'stage': 'uploading'")
    assert list(
        ProjectVersion.objects.filter(project__accession=first["project_id"]).values_list(
            "version", flat=True
        )
    ) == [1, 2]

    # and once the upload completes, the lock is gone
    put_all(answer, {"b.txt": b"b"})
    completed(submitter, answer)
    assert (
        started(submitter, ["c.txt"], path=f"/api/projects/{first['project_id']}/upload")["version"]
        == "3"
    )


def test_completion_with_a_missing_file_fails_then_succeeds_once_it_is_sent(
    submitter: Any,
) -> None:
    answer = started(submitter, ["report.txt", "report.txt.json"])
    put_all(answer, {"report.txt.json": report_metadata()})

    # when the client completes without sending report.txt
    response = complete(submitter.client, answer)

    # then the job fails and says why, without a traceback
    failed = job(response.json()["job_id"])
    assert failed["status"] == "FAILURE"
    assert failed["error"] == "report.txt: nothing was uploaded"
    assert "Traceback" not in json.dumps(failed)
    # and the upload stays open (same URLs) until its deadline
    session = UploadSession.objects.get(pk=_session_id(answer))
    assert session.status == "uploading"
    assert (
        start(submitter, ["x"], path=f"/api/projects/{answer['project_id']}/upload").status_code
        == 423
    )

    # when the missing file is sent and the upload completed again
    assert put(answer, "report.txt", REPORT).status_code == 200
    completed(submitter, answer)
    assert UploadSession.objects.get(pk=session.pk).status == "completed"


def _session_id(answer: dict[str, Any]) -> str:
    return str(UploadSession.objects.get(purge_job_id=answer["purge_job_id"]).pk)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            {"$schema": "compiled_report/v1.json", "source": "report.pl", "path": "report.txt"},
            "report.txt.json: does not match compiled_report/v1.json: 'md5sum' is a required "
            "property",
        ),
        (
            {"$schema": "no_such_schema/v9.json", "path": "report.txt"},
            "report.txt.json: names the unknown schema 'no_such_schema/v9.json' (known: "
            "compiled_report/v1.json, sequencing_run/v1.json)",
        ),
        ({"path": "report.txt"}, "report.txt.json: has no $schema naming its JSON Schema"),
        (
            {
                "$schema": "compiled_report/v1.json",
                "source": "r",
                "path": "report.txt",
                "md5sum": "0" * 32,
            },
            f"report.txt.json: md5sum {'0' * 32} differs from the MD5 of report.txt",
        ),
    ],
    ids=["schema-fails", "unknown-schema", "no-schema", "md5-differs"],
)
def test_metadata_failing_its_schema_fails_the_job_with_the_reason(
    submitter: Any, document: dict[str, Any], reason: str
) -> None:
    answer = started(submitter, ["report.txt", "report.txt.json"])
    put_all(answer, {"report.txt": REPORT, "report.txt.json": json.dumps(document).encode()})

    response = complete(submitter.client, answer)

    failed = job(response.json()["job_id"])
    assert failed["status"] == "FAILURE"
    assert failed["error"].startswith(reason)
    assert not ProjectVersion.objects.filter(
        project__accession=answer["project_id"], status="available"
    ).exists()


def test_metadata_fixed_and_sent_again_is_read_anew(submitter: Any) -> None:
    # given a completion refused for its metadata
    answer = started(submitter, ["report.txt", "report.txt.json"])
    put_all(
        answer, {"report.txt": REPORT, "report.txt.json": b'{"$schema": "compiled_report/v1.json"}'}
    )
    assert job(complete(submitter.client, answer).json()["job_id"])["status"] == "FAILURE"

    # when the client PUTs a fixed document to the same URL and completes again
    put_all(answer, {"report.txt.json": report_metadata()})
    completed(submitter, answer)

    # then the fixed document is stored
    page = submitter.client.get(f"/api/projects/{answer['project_id']}/version/1/metadata").json()
    assert page["results"][0]["md5sum"] == json.loads(report_metadata())["md5sum"]


def test_bad_requests_are_refused_and_store_nothing(submitter: Any) -> None:
    cases = [
        ({"filenames": []}, "invalid_input"),
        ({"filenames": ["a/../b"]}, "invalid_filename"),
        ({"filenames": ["a", "a"]}, "duplicate_filename"),
        ({"filenames": ["a"], "completed_by": "tomorrow-ish"}, "invalid_completed_by"),
        (
            {"filenames": ["a"], "completed_by": "in 10 minutes", "expires_in": "in 5 minutes"},
            "invalid_expires_in",
        ),
        ({"filenames": ["a"], "mode": "ftp"}, "invalid_input"),
        ({"filenames": [{"filename": "a", "check": "crc"}]}, "invalid_input"),
        ({"filenames": ["a"], "mode": "multipart"}, "size_required"),
    ]
    for body, code in cases:
        response = submitter.client.post(
            "/api/projects/upload", {"group": str(submitter.group.pk), **body}, format="json"
        )
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["code"] == code, body
    assert not Project.objects.exists()
    assert not File.objects.exists()


def test_completed_by_is_clamped_and_defaults_to_one_day(submitter: Any) -> None:
    def deadline_of(**body: Any) -> timedelta:
        answer = started(submitter, ["a"], **body)
        complete_before = datetime.fromisoformat(answer["complete_before"])
        assert submitter.client.put(answer["abort_url"]).status_code == 200
        return complete_before - timezone.now()

    assert timedelta(hours=23, minutes=59) < deadline_of() <= timedelta(days=1)
    assert timedelta(seconds=8) < deadline_of(completed_by="in 1 second") <= timedelta(seconds=10)
    assert timedelta(days=4, hours=23) < deadline_of(completed_by="in 9 days") <= timedelta(days=5)
    assert deadline_of(completed_by="2000-01-01 00:00:00") <= timedelta(seconds=10)
    assert (
        timedelta(hours=1, minutes=59)
        < deadline_of(completed_by="in 2 hours")
        <= timedelta(hours=2)
    )


@override_settings(PROJECT_PURGE_GRACE=timedelta(0))
def test_abort_ends_the_upload_purges_its_files_and_releases_the_lock(submitter: Any) -> None:
    answer = started(submitter, ["report.txt", "report.txt.json"])
    put_all(answer, {"report.txt": REPORT})
    file_ids = answer["file_ids"]

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = submitter.client.put(answer["abort_url"])

    assert response.status_code == 200
    assert response.json()["status"] == "aborted"
    purge = job(answer["purge_job_id"])
    assert purge["status"] == "SUCCESS"
    assert purge["result"]["files_expired"] == ["report.txt", "report.txt.json"]
    assert purge["result"]["lock_released"] is True
    assert purge["result"]["version_removed"] is True
    assert purge["result"]["objects_removed"] == 1  # only report.txt had arrived
    assert s3.head(key=f"files/{file_ids['report.txt']}") is None
    assert all(
        f.status == "expired" and f.deleted_at
        for f in File.objects.filter(pk__in=file_ids.values())
    )
    assert not ProjectVersion.objects.filter(project__accession=answer["project_id"]).exists()
    # the lock is gone: an uploader may upload that version again
    assert UploadSession.objects.get(pk=_session_id(answer)).status == "aborted"


def test_a_completion_job_cancelled_before_it_runs_leaves_the_upload_open(
    submitter: Any, anonymous: Any
) -> None:
    answer = started(submitter, ["report.txt"])
    put_all(answer, {"report.txt": REPORT})
    # the job is queued but not yet run (its task has not been sent)
    job_id = submitter.client.put(answer["completion_url"], {}, format="json").json()["job_id"]

    assert anonymous.delete(f"/api/jobs/{job_id}").status_code == 401
    cancelled = submitter.client.delete(f"/api/jobs/{job_id}")  # who completed it
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "REVOKED"
    assert submitter.client.delete(f"/api/jobs/{job_id}").status_code == 409  # not pending

    # when its task runs after all, it does nothing but reopen the upload
    assert complete_upload_task(_session_id(answer), job_id) is None
    assert UploadSession.objects.get(pk=_session_id(answer)).status == "uploading"
    completed(submitter, answer)


def test_the_endpoints_are_documented(anonymous: Any) -> None:
    paths = anonymous.get("/api/schema/?format=json").json()["paths"]
    for path in (
        "/api/projects/upload",
        "/api/projects/{project_id}/upload",
        "/api/projects/{project_id}/version/{version}/upload",
        "/api/projects/{project_id}/version/{version}/complete",
        "/api/projects/{project_id}/version/{version}/abort",
        "/api/projects/{project_id}/version/{version}/metadata",
        "/api/projects/search",
        "/api/link/{source}/to/{target}",
        "/api/index/build",
        "/api/index/status",
    ):
        assert path in paths, path
    assert anonymous.get("/api/schemas").json()["schemas"] == [
        "compiled_report/v1.json",
        "sequencing_run/v1.json",
    ]
    schema = anonymous.get("/api/schemas/compiled_report/v1.json").json()
    assert schema["required"] == ["source", "md5sum", "path"]


def test_admin_lists_uploads_and_aborts_them(submitter: Any, make_actor: Any) -> None:
    curator = make_actor(staff=True)
    curator.user.is_superuser = True
    curator.user.save()
    answer = started(submitter, ["report.txt"])
    browser = Client()
    browser.force_login(curator.user)
    for page in ("project", "projectversion", "uploadsession", "indexstate", "objectremoval"):
        assert browser.get(f"/admin/projects/{page}/").status_code == 200, page
    session_id = _session_id(answer)
    assert browser.get(f"/admin/projects/uploadsession/{session_id}/change/").status_code == 200
    response = browser.post(
        "/admin/projects/uploadsession/",
        {"action": "abort_uploads", "_selected_action": [session_id]},
        follow=True,
    )
    assert response.status_code == 200
    assert UploadSession.objects.get(pk=session_id).status == "aborted"
    assert job(answer["purge_job_id"])["status"] == "STARTED"  # bytes go after the grace


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "report.txt.json: is not JSON (JSONDecodeError: "),
        (b'{"a": "\xc3\x28"}', "report.txt.json: is not JSON (UnicodeDecodeError: "),
        (
            b"[" * 100_000 + b"]" * 100_000,
            "report.txt.json: JSON nested deeper than 64 levels is refused.",
        ),
        (b"[1, 2]", "report.txt.json: is not a JSON object"),
    ],
    ids=["broken", "not-utf8", "too-deep", "array"],
)
def test_metadata_that_is_not_a_json_object_fails_the_job(
    submitter: Any, raw: bytes, reason: str
) -> None:
    answer = started(submitter, ["report.txt.json"])
    put_all(answer, {"report.txt.json": raw})

    failed = job(complete(submitter.client, answer).json()["job_id"])

    assert failed["status"] == "FAILURE"
    assert failed["error"].startswith(reason)
