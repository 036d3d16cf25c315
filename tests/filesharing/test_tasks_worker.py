"""Verification on a real Celery worker: confirm queues it after commit, the worker settles the
file, and the same task run many times gives one result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.models import AuditEvent
from filesharing.models import File
from filesharing.tasks import verify_file_task, verify_unconfirmed_files_task
from tests.celery_worker import celery_worker, wait_until
from tests.conftest import put_with_ticket, sha256_hex

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

DATA = b"ACGT" * 4096


def request_one(actor: Any, name: str) -> dict[str, Any]:
    response = actor.client.post(
        "/api/files/request-uploads",
        {
            "groupId": actor.group.pk,
            "files": [{"name": name, "size": len(DATA), "sha256": sha256_hex(DATA)}],
        },
        format="json",
    )
    assert response.status_code == 200
    return response.json()[0]


def test_confirm_queues_verification_that_a_worker_completes(
    submitter: Any, tmp_path: Path
) -> None:
    ticket = request_one(submitter, "queued.fq")
    assert put_with_ticket(ticket, DATA).status_code == 200
    with celery_worker(tmp_path):
        # when the upload is confirmed, the answer comes before verification
        confirmed = submitter.client.post(f"/api/files/{ticket['fileId']}/confirm")
        assert confirmed.status_code == 202
        assert confirmed.json()["status"] == "uploaded"
        # then the worker verifies it
        wait_until(
            lambda: File.objects.get(pk=ticket["fileId"]).status == "verified",
            timeout=30,
            what="the worker to verify the file",
        )
    file = File.objects.get(pk=ticket["fileId"])
    assert (file.size, file.sha256) == (len(DATA), sha256_hex(DATA))
    assert file.s3_version_id


def test_scheduled_sweep_and_repeated_tasks_give_one_result(submitter: Any, tmp_path: Path) -> None:
    ticket = request_one(submitter, "swept.fq")
    put_with_ticket(ticket, DATA)
    with celery_worker(tmp_path) as worker:
        # the same verification queued three times, plus the sweep (which may queue a fourth)
        for _ in range(3):
            verify_file_task.delay(ticket["fileId"])
        verify_unconfirmed_files_task.delay()
        wait_until(
            lambda: File.objects.get(pk=ticket["fileId"]).status == "verified",
            timeout=30,
            what="the worker to verify the file",
        )
        wait_until(
            lambda: worker.log().count("succeeded") >= 4,
            timeout=30,
            what="the four tasks to finish",
        )
    verified = AuditEvent.objects.filter(action="file.verified", object_id=ticket["fileId"])
    assert verified.count() == 1
