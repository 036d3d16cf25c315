"""With a real Celery worker: a deadline passing (the purge runs at its ETA, in two phases) and
a transient version expiring."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from filesharing import s3
from filesharing.models import File
from projects.models import UploadSession
from tests.celery_worker import celery_worker, wait_until
from tests.projects.conftest import REPORT, job, put_all, report_metadata, started

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def job_done(job_id: str, *, timeout: float = 20.0) -> dict[str, Any]:
    return dict(
        wait_until(
            lambda: (found := job(job_id))["status"] in ("SUCCESS", "FAILURE") and found,
            timeout=timeout,
            what=f"job {job_id} to finish",
        )
    )


@override_settings(PROJECT_UPLOAD_MIN_DEADLINE=timedelta(seconds=1))
def test_deadline_passing_purges_and_transient_versions_expire(
    submitter: Any, anonymous: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROJECT_PURGE_GRACE_SECONDS", "0")  # the worker's second phase at once
    with celery_worker(tmp_path):
        # given an upload whose deadline is two seconds away, one of its two files sent
        lapsing = started(submitter, ["report.txt", "report.txt.json"], completed_by="in 2 seconds")
        put_all(lapsing, {"report.txt": REPORT})
        sent = File.objects.get(pk=lapsing["file_ids"]["report.txt"])

        # when the deadline passes, the purge job (queued with its ETA) runs
        purge = job_done(lapsing["purge_job_id"])

        # then it shows what it did: files expired, bytes removed, lock released
        assert purge["status"] == "SUCCESS"
        assert purge["result"]["files_expired"] == ["report.txt", "report.txt.json"]
        assert purge["result"]["objects_removed"] == 1
        assert purge["result"]["lock_released"] is True
        assert s3.head(key=sent.key) is None
        session = UploadSession.objects.get(purge_job_id=lapsing["purge_job_id"])
        assert session.status == "purged"
        # and the project takes a new upload: its version 1 never existed
        again = started(submitter, ["a"], path=f"/api/projects/{lapsing['project_id']}/upload")
        assert again["version"] == "1"
        assert submitter.client.put(again["abort_url"]).status_code == 200

        # given a transient upload, completed at once
        transient = started(
            submitter,
            ["report.txt", "report.txt.json"],
            completed_by="in 3 seconds",
            expires_in="in 4 seconds",
        )
        assert transient["expires_job_id"]
        put_all(transient, {"report.txt": REPORT, "report.txt.json": report_metadata()})
        accepted = submitter.client.put(
            transient["completion_url"], {"read_access": "public"}, format="json"
        )
        assert job_done(accepted.json()["job_id"])["status"] == "SUCCESS"
        metadata = f"/api/projects/{transient['project_id']}/version/1/metadata"
        assert anonymous.get(metadata).status_code == 200

        # when its expiry comes
        expiry = job_done(transient["expires_job_id"])

        # then data and metadata are gone
        assert expiry["status"] == "SUCCESS"
        assert expiry["result"]["expired"] is True
        assert expiry["result"]["files_expired"] == ["report.txt", "report.txt.json"]
        gone = anonymous.get(metadata)
        assert gone.status_code == 404
        assert gone.json() == {"status": "error", "reason": "No such project/version"}
        for file_id in transient["file_ids"].values():
            assert s3.head(key=f"files/{file_id}") is None
        assert job(transient["purge_job_id"])["status"] == "REVOKED"
