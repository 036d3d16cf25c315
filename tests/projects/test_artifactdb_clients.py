"""ArtifactDB's clients as they are written: `check: "simple"` for ordinary files, and every URL
of an answer joined with the API root they are configured with (or, by older clients, with
the host)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase

from tests.conftest import Actor
from tests.projects.conftest import REPORT, completed, job, put_all, report_metadata, started

pytestmark = pytest.mark.django_db
API_ROOT = "/api"  # a client configured with <host>/api


def _simple(*names: str) -> list[dict[str, Any]]:
    return [{"filename": name, "check": "simple", "value": {}} for name in names]


def test_a_client_joining_urls_with_its_api_root_completes_and_polls(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    # given an upload whose files all say check simple, as ArtifactDB's clients send them
    answer = started(submitter, _simple("report.txt", "report.txt.json"))
    assert set(answer["presigned_urls"]) == {"report.txt", "report.txt.json"}
    for key in ("completion_url", "abort_url"):
        assert answer[key].startswith(f"/projects/{answer['project_id']}/version/1/")
    put_all(answer, {"report.txt": REPORT, "report.txt.json": report_metadata()})

    # when the client PUTs <root> + completion_url and polls <root> + job_url
    with TestCase.captureOnCommitCallbacks(execute=True):
        accepted = submitter.client.put(
            API_ROOT + answer["completion_url"], {"read_access": "authenticated"}, format="json"
        )
    assert accepted.status_code == 202, accepted.content
    polled = anonymous.get(API_ROOT + accepted.json()["job_url"])
    assert polled.status_code == 200
    assert polled.json()["status"] == "SUCCESS", polled.json()
    # and a client joining with the host reaches the same job
    assert anonymous.get(accepted.json()["job_url"]).json() == polled.json()

    # then read_access authenticated lets anyone signed in read, and nobody else
    metadata = f"/api/projects/{answer['project_id']}/version/1/metadata"
    assert stranger.client.get(metadata).status_code == 200
    assert stranger.client.get(metadata).json()["count"] == 1
    assert anonymous.get(metadata).status_code == 404
    search = stranger.client.get(f"/api/projects/search?q=_extra.project_id:{answer['project_id']}")
    assert search.json()["count"] == 1
    assert (
        anonymous.get(f"/api/projects/search?q=_extra.project_id:{answer['project_id']}").json()[
            "count"
        ]
        == 0
    )


def test_links_and_abort_joined_with_the_root_or_with_the_host(submitter: Actor) -> None:
    first = started(submitter, _simple("reads.fastq"))
    put_all(first, {"reads.fastq": REPORT})
    completed(submitter, first)
    project = first["project_id"]

    linked = started(
        submitter,
        [
            {
                "filename": "reads.fastq",
                "check": "link",
                "value": {"artifactdb_id": f"{project}:reads.fastq@1"},
            }
        ],
        path=f"/api/projects/{project}/upload",
    )
    link = linked["links"]["reads.fastq"]
    assert link.startswith("/link/")
    assert submitter.client.put(API_ROOT + link).status_code == 200
    aborted = submitter.client.put(API_ROOT + linked["abort_url"])
    assert aborted.status_code == 200, aborted.content
    assert aborted.json()["status"] == "aborted"
    assert job(aborted.json()["purge_job_id"])["status"] in {"STARTED", "SUCCESS"}

    # an older client that joins with the host: the same URLs, served at the root too
    again = started(submitter, _simple("notes.txt"), path=f"/api/projects/{project}/upload")
    assert submitter.client.put(again["abort_url"]).json()["status"] == "aborted"


def test_owners_must_be_users_and_unknown_checks_are_refused(submitter: Actor) -> None:
    answer = started(submitter, _simple("report.txt", "report.txt.json"))
    put_all(answer, {"report.txt": REPORT, "report.txt.json": report_metadata()})
    refused = submitter.client.put(
        API_ROOT + answer["completion_url"], {"owners": ["someone-at-the-idp"]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_owner"
    assert refused.json()["error"]["details"] == {"owners": ["someone-at-the-idp"]}

    bad = submitter.client.post(
        "/api/projects/upload",
        {"group": str(submitter.group.pk), "filenames": [{"filename": "a.txt", "check": "crc"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "simple, link, md5, sha256" in str(bad.json()["error"]["details"])
