"""GET/DELETE /api/jobs/<id>: no token needed (the id is unguessable), ArtifactDB's fields."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Job
from core.services import job_create, job_fail, job_start, job_succeed

pytestmark = pytest.mark.django_db


def test_a_finished_job_answers_with_artifactdbs_fields(anonymous: Any) -> None:
    job = job_create(kind="example", actor=None)
    job_start(job_id=job.pk)
    job_succeed(job_id=job.pk, result={"project_id": "SV_000001", "indexed_files": 1})
    body = anonymous.get(f"/api/jobs/{job.pk}").json()
    assert body["status"] == "SUCCESS"
    assert body["task_id"] == str(job.pk)
    assert body["result"] == {"project_id": "SV_000001", "indexed_files": 1}
    assert body["traceback"] is None
    assert body["children"] == []
    assert body["date_done"] is not None


def test_a_failed_job_gives_a_reason_and_no_traceback(anonymous: Any) -> None:
    job = job_create(kind="example", actor=None)
    job_fail(job_id=job.pk, reason="File 'a.txt' was never uploaded.")
    body = anonymous.get(f"/api/jobs/{job.pk}").json()
    assert body["status"] == "FAILURE"
    assert body["error"] == "File 'a.txt' was never uploaded."
    assert body["traceback"] is None


def test_pending_jobs_can_be_cancelled_once(anonymous: Any) -> None:
    job = job_create(kind="example", actor=None)
    cancelled = anonymous.delete(f"/api/jobs/{job.pk}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "REVOKED"
    again = anonymous.delete(f"/api/jobs/{job.pk}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancellable"
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


def test_unknown_or_malformed_job_ids_answer_404(anonymous: Any) -> None:
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = anonymous.get(f"/api/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
