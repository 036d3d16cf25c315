"""The curators' admin for entries: files inline, approve and revoke through the services, and
the Files filters that now count attachments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from core.models import AuditEvent
from filesharing.models import File
from submissions.models import SequenceEntry
from tests.factories import UserFactory
from tests.submissions.conftest import av, cell, claimed, processed, result, row, submitted, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator() -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def browser(curator: Any) -> Client:
    client = Client()
    client.force_login(curator)
    return client


@pytest.fixture
def entry(submitter: Any, pipeline: Any) -> dict[str, Any]:
    reads = upload(submitter, name="run1.fastq")
    [answer] = submitted(submitter, [row("s1", **{"files.raw_reads": cell(("run1.fastq", reads))})])
    claimed(pipeline)
    processed(pipeline, [result(av(answer), files={"raw_reads": [{"fileId": reads, "name": "r"}]})])
    return {**answer, "reads": reads, "pk": SequenceEntry.objects.get().pk}


def test_an_entry_shows_its_files_and_processed_data(
    browser: Client, entry: dict[str, Any]
) -> None:
    page = browser.get(f"/admin/submissions/sequenceentry/{entry['pk']}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert entry["reads"] in html
    assert "run1.fastq" in html
    listing = browser.get("/admin/submissions/sequenceentry/?status=PROCESSED").content.decode()
    assert f"{entry['accession']}.1" in listing


def test_approve_and_revoke_actions_go_through_the_services(
    browser: Client, curator: Any, entry: dict[str, Any]
) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = browser.post(
            "/admin/submissions/sequenceentry/",
            {"action": "approve", "_selected_action": [entry["pk"]]},
            follow=True,
        )
    assert "1 entry version(s) released." in response.content.decode()
    assert SequenceEntry.objects.get(pk=entry["pk"]).approver == curator
    assert File.objects.get(pk=entry["reads"]).released_at is not None

    response = browser.post(
        "/admin/submissions/sequenceentry/",
        {"action": "revoke", "_selected_action": [entry["pk"]]},
        follow=True,
    )
    assert "1 entry(ies) revoked." in response.content.decode()
    revocation = SequenceEntry.objects.get(accession=entry["accession"], version=2)
    assert revocation.is_revocation and revocation.released_at is not None
    assert AuditEvent.objects.filter(action="entry.revoked", actor=curator).count() == 1


def test_a_refused_action_says_why(browser: Client, submitter: Any) -> None:
    submitted(submitter, [row("waiting")])
    response = browser.post(
        "/admin/submissions/sequenceentry/",
        {"action": "approve", "_selected_action": [SequenceEntry.objects.get().pk]},
        follow=True,
    )
    assert "Only processed entries can be approved" in response.content.decode()
    assert SequenceEntry.objects.get().released_at is None


def test_file_filters_count_attachments(browser: Client, submitter: Any) -> None:
    attached = upload(submitter, b"attached", name="attached.fastq")
    upload(submitter, b"loose", name="loose.fastq")
    File.objects.update(verified_at=timezone.now() - timedelta(days=30))
    submitted(submitter, [row("s1", **{"files.raw_reads": cell(("a.fastq", attached))})])

    orphaned = browser.get("/admin/filesharing/file/?state=orphaned").content.decode()
    assert "loose.fastq" in orphaned and "attached.fastq" not in orphaned
    unreleased = browser.get("/admin/filesharing/file/?state=unreleased").content.decode()
    assert "attached.fastq" in unreleased and "loose.fastq" not in unreleased
