"""Scheduled verification of uploads nobody confirmed, and expiry after the deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from filesharing.models import File
from filesharing.tasks import verify_file_task, verify_unconfirmed_files_task
from tests.conftest import put_with_ticket

pytestmark = pytest.mark.django_db


def request(actor: Any, names: list[str]) -> list[dict[str, Any]]:
    response = actor.client.post(
        "/api/files/request-uploads",
        {"groupId": actor.group.pk, "files": [{"name": n} for n in names]},
        format="json",
    )
    assert response.status_code == 200
    return response.json()


def test_unconfirmed_uploads_settle_on_schedule(submitter: Any) -> None:
    uploaded, never, late = request(submitter, ["up.fq", "never.fq", "late.fq"])
    put_with_ticket(uploaded, b"bytes arrived")
    File.objects.filter(pk=late["fileId"]).update(
        upload_deadline=timezone.now() - timedelta(seconds=1)
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert verify_unconfirmed_files_task.delay().get() == 3

    states = dict(File.objects.values_list("id", "status"))
    assert {str(k): v for k, v in states.items()} == {
        uploaded["fileId"]: "verified",
        never["fileId"]: "requested",
        late["fileId"]: "expired",
    }
    assert File.objects.get(pk=late["fileId"]).failure_reason == (
        "no object was uploaded before the deadline"
    )


def test_verification_runs_twice_with_the_same_result(submitter: Any) -> None:
    [ticket] = request(submitter, ["twice.fq"])
    put_with_ticket(ticket, b"same")
    assert verify_file_task.delay(ticket["fileId"]).get() == "verified"
    first = File.objects.get(pk=ticket["fileId"])
    assert verify_file_task.delay(ticket["fileId"]).get() == "verified"
    second = File.objects.get(pk=ticket["fileId"])
    assert (first.verified_at, first.size, first.sha256) == (
        second.verified_at,
        second.size,
        second.sha256,
    )


def test_verified_files_are_never_expired(submitter: Any) -> None:
    [ticket] = request(submitter, ["kept.fq"])
    put_with_ticket(ticket, b"kept")
    verify_file_task.delay(ticket["fileId"]).get()
    File.objects.filter(pk=ticket["fileId"]).update(
        upload_deadline=timezone.now() - timedelta(days=1)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert verify_unconfirmed_files_task.delay().get() == 0
    assert File.objects.get(pk=ticket["fileId"]).status == "verified"
