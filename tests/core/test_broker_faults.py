"""A broker that hangs or is stopped while a real worker runs: requests that queue a task after
their commit answer JSON in bounded time with the work recorded, and the periodic jobs finish
it once the broker is back. The broker here is a redis-server of the test's own."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from filesharing.models import File
from filesharing.tasks import verify_unconfirmed_files_task
from tests.celery_worker import celery_worker, wait_until
from tests.conftest import put_with_ticket, sha256_hex
from tests.outages import RedisServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def uploaded_ticket(actor: Any, data: bytes, name: str) -> str:
    spec = {"name": name, "size": len(data), "sha256": sha256_hex(data)}
    response = actor.client.post(
        "/api/files/request-uploads", {"groupId": actor.group.pk, "files": [spec]}, format="json"
    )
    assert response.status_code == 200, response.content
    ticket = response.json()[0]
    assert put_with_ticket(ticket, data).status_code == 200
    return str(ticket["fileId"])


def confirm_timed(actor: Any, file_id: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = actor.client.post(f"/api/files/{file_id}/confirm")
    return response, time.monotonic() - started


def status_of(file_id: str) -> str:
    return File.objects.get(pk=file_id).status


def test_confirm_with_the_broker_down_answers_json_and_the_periodic_job_verifies_later(
    own_redis: RedisServer, submitter: Any, tmp_path: Path
) -> None:
    hung, stopped, healthy = (
        uploaded_ticket(submitter, f"reads {n}\n".encode() * 100, f"r{n}.fastq") for n in range(3)
    )
    with override_settings(CELERY_BROKER_URL=own_redis.url), celery_worker(tmp_path) as worker:
        # while the broker answers, confirmation queues the verification at once
        response, _ = confirm_timed(submitter, healthy)
        assert response.status_code in (200, 202)
        wait_until(lambda: status_of(healthy) == "verified", what="the worker to verify")

        # a broker that accepts connections and never answers costs a bounded wait
        own_redis.freeze()
        response, seconds = confirm_timed(submitter, hung)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "uploaded"
        assert seconds < 10

        # a stopped broker, now known down, costs nothing; the answer is the same
        own_redis.stop()
        response, seconds = confirm_timed(submitter, stopped)
        assert response.status_code == 202, response.content
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["status"] == "uploaded"
        assert seconds < 2
        assert status_of(hung) == status_of(stopped) == "uploaded"

        # when the broker is back, beat's periodic job finds both and the worker verifies them
        own_redis.start()
        worker.wait_for_log("Connected to", timeout=30)
        wait_until(
            lambda: worker.log().count("Connected to") >= 2, timeout=60, what="the reconnection"
        )
        verify_unconfirmed_files_task.delay()
        wait_until(
            lambda: status_of(hung) == status_of(stopped) == "verified",
            timeout=60,
            what="the periodic job to verify the files",
        )
