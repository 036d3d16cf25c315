"""GET /api/jobs/<id> needs no token (the id is unguessable); DELETE only by the job's creator
or a curator. ArtifactDB's fields."""

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


def test_pending_jobs_can_be_cancelled_once_by_their_creator(submitter: Any) -> None:
    job = job_create(kind="example", actor=submitter.user)
    cancelled = submitter.client.delete(f"/api/jobs/{job.pk}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "REVOKED"
    again = submitter.client.delete(f"/api/jobs/{job.pk}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancellable"
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


def test_only_the_creator_or_a_curator_cancels_a_job(
    submitter: Any, stranger: Any, anonymous: Any, make_actor: Any
) -> None:
    job = job_create(kind="example", actor=submitter.user)
    unnamed = job_create(kind="version_expiry", actor=None)
    refused = anonymous.delete(f"/api/jobs/{job.pk}")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    for other in (job, unnamed):
        # Someone else's job answers like a job that does not exist.
        response = stranger.client.delete(f"/api/jobs/{other.pk}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
    assert submitter.client.delete(f"/api/jobs/{unnamed.pk}").status_code == 404
    assert Job.objects.filter(status=Job.Status.PENDING).count() == 2
    curator = make_actor(staff=True)
    for pending in (job, unnamed):
        assert curator.client.delete(f"/api/jobs/{pending.pk}").status_code == 200
    assert Job.objects.filter(status=Job.Status.CANCELLED).count() == 2


def test_polling_needs_no_credential_and_ignores_a_stale_one(anonymous: Any) -> None:
    job = job_create(kind="example", actor=None)
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer sv_revoked-long-ago")
    assert anonymous.get(f"/api/jobs/{job.pk}").status_code == 200


def test_unknown_or_malformed_job_ids_answer_404(anonymous: Any) -> None:
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = anonymous.get(f"/api/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
