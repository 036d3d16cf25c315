"""Nothing depends on one message arriving: the lock never outlives the deadline, and the
periodic sweep finds overdue purges, expiries and lost completions. Also the moments that
`completed_by` and `expires_in` accept."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import TestCase, override_settings
from django.utils import timezone

from core.errors import ApplicationError
from projects.deadlines import parse_moment, upload_deadline
from projects.models import UploadSession
from projects.services import projects_sweep, version_expire_begin
from projects.tasks import complete_upload_task, sweep_project_uploads_task
from tests.projects.conftest import REPORT, job, put_all, report_metadata, started

pytestmark = pytest.mark.django_db

FILES = {"report.txt": REPORT, "report.txt.json": report_metadata()}


def session_of(answer: dict[str, Any]) -> UploadSession:
    return UploadSession.objects.get(purge_job_id=answer["purge_job_id"])


@override_settings(
    PROJECT_UPLOAD_MIN_DEADLINE=timedelta(seconds=1), PROJECT_PURGE_GRACE=timedelta(0)
)
def test_sweep_purges_an_overdue_upload_whose_message_was_lost(submitter: Any) -> None:
    # given an upload whose purge message never arrives (tasks are not queued in this test)
    answer = started(submitter, ["report.txt"], completed_by="in 2 seconds")
    put_all(answer, {"report.txt": REPORT})
    time.sleep(2.1)
    assert projects_sweep().purge_session_ids == [str(session_of(answer).pk)]

    # when the sweep runs
    with TestCase.captureOnCommitCallbacks(execute=True):
        counts = sweep_project_uploads_task()

    # then the upload is purged and its purge job says so
    assert counts["purges"] == 1
    purge = job(answer["purge_job_id"])
    assert purge["status"] == "SUCCESS"
    assert purge["result"]["objects_removed"] == 1
    assert session_of(answer).status == "purged"
    assert projects_sweep().purge_session_ids == []


@override_settings(PROJECT_UPLOAD_MIN_DEADLINE=timedelta(seconds=1))
def test_the_lock_never_outlives_the_deadline(submitter: Any) -> None:
    first = started(submitter, ["a", "b"], completed_by="in 2 seconds")
    put_all(first, {"a": b"a"})
    time.sleep(2.1)

    # nothing purged it yet, but a new upload is not locked out: it purges the old one first
    second = started(submitter, ["c"], path=f"/api/projects/{first['project_id']}/upload")
    assert second["version"] == "1"  # the first one's version 1 never completed
    assert session_of(first).status == "purged"
    assert job(first["purge_job_id"])["result"]["files_expired"] == ["a", "b"]


def test_sweep_runs_a_completion_whose_message_was_lost(submitter: Any) -> None:
    answer = started(submitter, list(FILES))
    put_all(answer, FILES)
    accepted = submitter.client.put(answer["completion_url"], {}, format="json")  # not queued
    assert job(accepted.json()["job_id"])["status"] == "PENDING"

    report = projects_sweep(now=timezone.now() + timedelta(minutes=3))

    session = session_of(answer)
    assert report.completions == [(str(session.pk), accepted.json()["job_id"])]
    assert complete_upload_task(*report.completions[0]) == "SUCCESS"
    assert complete_upload_task(*report.completions[0]) is None  # a second run does nothing


def test_sweep_expires_a_transient_version_whose_message_was_lost(
    submitter: Any, anonymous: Any
) -> None:
    answer = started(submitter, list(FILES), completed_by="in 1 hour", expires_in="in 2 days")
    put_all(answer, FILES)
    with TestCase.captureOnCommitCallbacks(execute=True):
        submitter.client.put(answer["completion_url"], {"read_access": "public"}, format="json")
    later = timezone.now() + timedelta(days=2, seconds=1)

    report = projects_sweep(now=later)
    assert report.expire_session_ids == [str(session_of(answer).pk)]
    assert version_expire_begin(session_id=report.expire_session_ids[0], now=later) is True
    assert version_expire_begin(session_id=report.expire_session_ids[0], now=later) is False

    expiry = job(answer["expires_job_id"])
    assert expiry["status"] == "STARTED"  # its bytes go after the grace period
    assert expiry["result"]["files_expired"] == ["report.txt", "report.txt.json"]
    gone = anonymous.get(f"/api/projects/{answer['project_id']}/version/1/metadata")
    assert gone.json() == {"status": "error", "reason": "No such project/version"}
    after_grace = later + timedelta(hours=1, seconds=1)
    assert projects_sweep(now=later).removal_job_ids == []
    assert projects_sweep(now=after_grace).removal_job_ids == [answer["expires_job_id"]]


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 10 minutes", NOW + timedelta(minutes=10)),
        ("in 1 minute", NOW + timedelta(minutes=1)),
        ("in 2 days", NOW + timedelta(days=2)),
        ("in an hour", NOW + timedelta(hours=1)),
        ("in 30 seconds", NOW + timedelta(seconds=30)),
        ("in 1.5 hours", NOW + timedelta(minutes=90)),
        ("3 weeks", NOW + timedelta(weeks=3)),
        ("2020-12-31 12:59:59", datetime(2020, 12, 31, 12, 59, 59, tzinfo=UTC)),
        ("2026-01-02T10:00:00+02:00", datetime(2026, 1, 2, 8, 0, tzinfo=UTC)),
        ("2026-01-03", datetime(2026, 1, 3, tzinfo=UTC)),
    ],
)
def test_moments_clients_write(text: str, expected: datetime) -> None:
    assert parse_moment(text, now=NOW, field="completed_by") == expected


@pytest.mark.parametrize("text", ["soon", "in 10 fortnights", "in -1 days", "in 99999999 days"])
def test_moments_that_are_refused(text: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        parse_moment(text, now=NOW, field="completed_by")
    assert refused.value.code == "invalid_completed_by"


def test_deadlines_are_clamped() -> None:
    assert upload_deadline(None, now=NOW) == NOW + timedelta(days=1)
    assert upload_deadline("in 1 second", now=NOW) == NOW + timedelta(seconds=10)
    assert upload_deadline("in 6 days", now=NOW) == NOW + timedelta(days=5)
