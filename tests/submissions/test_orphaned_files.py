"""report_orphaned_files: the report's exact rows, the mails to each group's admins, the CSV,
and the optional two-phase cleanup."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from filesharing.selectors import orphaned_q
from groups.models import Membership
from submissions.models import EntryFile, OrphanedFile, OrphanedFileReport
from submissions.services import orphaned_files_report
from submissions.tasks import report_orphaned_files_task
from tests.factories import FileFactory, UserFactory
from tests.submissions.conftest import cell, row, submitted, upload

pytestmark = pytest.mark.django_db


def age(file_id: str, days: int) -> None:
    File.objects.filter(pk=file_id).update(verified_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def landscape(submitter: Any, stranger: Any, make_actor: Any) -> dict[str, str]:
    """Files of two groups in every state that matters; the names say which."""
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    submitter.user.email = "admin-a@example.org"
    submitter.user.save()
    stranger.user.email = "admin-b@example.org"
    stranger.user.save()
    files = {
        "a-orphan": upload(submitter, b"a orphan", name="a-orphan.fastq"),
        "a-attached": upload(submitter, b"a attached", name="a-attached.fastq"),
        "a-young": upload(submitter, b"a young", name="a-young.fastq"),
        "a-deleted": upload(submitter, b"a deleted", name="a-deleted.fastq"),
        "b-orphan": upload(stranger, b"b orphan!", name="b-orphan.fastq"),
    }
    files["a-unverified"] = str(FileFactory(group=submitter.group, name="a-unverified.fq").pk)
    submitted(
        submitter,
        [row("s1", **{"files.raw_reads": cell(("a.fastq", files["a-attached"]))})],
    )
    for name in ("a-orphan", "a-attached", "a-deleted", "b-orphan"):
        age(files[name], days=30)
    age(files["a-young"], days=2)
    File.objects.filter(pk=files["a-deleted"]).update(deleted_at=timezone.now())
    files["member-email"] = member.user.email
    return files


def test_the_report_holds_exactly_the_orphaned_files(landscape: dict[str, str]) -> None:
    report = OrphanedFileReport.objects.get(pk=report_orphaned_files_task.apply().get())

    rows = list(report.rows.order_by("name").values_list("file_id", "name", "size", "action"))
    assert rows == [
        (UUID(landscape["a-orphan"]), "a-orphan.fastq", 8, "reported"),
        (UUID(landscape["b-orphan"]), "b-orphan.fastq", 9, "reported"),
    ]
    assert (report.file_count, report.total_bytes, report.removed_count) == (2, 17, 0)
    assert AuditEvent.objects.filter(
        action="orphaned_files.reported", object_id=str(report.pk)
    ).exists()


def test_each_groups_admins_get_their_groups_files_only(landscape: dict[str, str]) -> None:
    report = orphaned_files_report()

    by_recipient = {tuple(message.to): message for message in mail.outbox}
    assert set(by_recipient) == {("admin-a@example.org",), ("admin-b@example.org",)}
    to_a = by_recipient[("admin-a@example.org",)]
    assert landscape["a-orphan"] in to_a.body
    assert landscape["b-orphan"] not in to_a.body
    assert landscape["a-young"] not in to_a.body
    [(filename, content, mimetype)] = to_a.attachments
    assert filename.endswith(".csv")
    assert mimetype == "text/csv"
    assert [r["file_id"] for r in csv.DictReader(io.StringIO(content))] == [landscape["a-orphan"]]
    assert sorted(report.mailed_to) == ["admin-a@example.org", "admin-b@example.org"]
    assert landscape["member-email"] not in report.mailed_to


def test_admins_list_and_download_the_report_as_csv(landscape: dict[str, str]) -> None:
    report = orphaned_files_report()
    browser = Client()
    browser.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = browser.get("/admin/submissions/orphanedfilereport/")
    assert listing.status_code == 200
    assert f"/admin/submissions/orphanedfilereport/{report.pk}/csv/" in listing.content.decode()
    assert (
        browser.get(f"/admin/submissions/orphanedfilereport/{report.pk}/change/").status_code == 200
    )

    download = browser.get(f"/admin/submissions/orphanedfilereport/{report.pk}/csv/")
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv"
    lines = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["file_id"], r["name"], r["size"], r["action"]) for r in lines] == [
        (landscape["a-orphan"], "a-orphan.fastq", "8", "reported"),
        (landscape["b-orphan"], "b-orphan.fastq", "9", "reported"),
    ]
    action = browser.post(
        "/admin/submissions/orphanedfilereport/",
        {"action": "download_csv", "_selected_action": [report.pk]},
    )
    assert action.content == download.content


def test_cleanup_marks_then_removes_what_is_still_unattached(
    submitter: Any, landscape: dict[str, str]
) -> None:
    # first run: both orphans are marked, nothing removed
    first = orphaned_files_report(cleanup=True)
    assert set(first.rows.values_list("action", flat=True)) == {"marked"}
    assert File.objects.get(pk=landscape["a-orphan"]).status == "verified"

    # meanwhile one of them is attached to a submission
    submitted(
        submitter, [row("s2", **{"files.raw_reads": cell(("a.fastq", landscape["a-orphan"]))})]
    )

    # second run: the one still unattached is removed, bytes and all; the other is gone from it
    second = orphaned_files_report(cleanup=True)
    assert list(second.rows.values_list("file_id", "action")) == [
        (UUID(landscape["b-orphan"]), "removed")
    ]
    assert second.removed_count == 1
    removed = File.objects.get(pk=landscape["b-orphan"])
    assert (removed.status, removed.deleted_at is not None) == ("expired", True)
    assert s3.head(key=removed.key, version_id=removed.s3_version_id) is None
    assert AuditEvent.objects.filter(
        action="file.orphan_removed", object_id=landscape["b-orphan"]
    ).exists()
    kept = File.objects.get(pk=landscape["a-orphan"])
    assert kept.status == "verified"
    assert s3.head(key=kept.key) is not None
    [*_, last_to_b] = [m for m in mail.outbox if m.to == ["admin-b@example.org"]]
    assert f"file ID {landscape['b-orphan']}, verified" in last_to_b.body
    assert "(removed)" in last_to_b.body


def test_cleanup_is_off_by_default(landscape: dict[str, str]) -> None:
    orphaned_files_report()
    orphaned_files_report()
    assert set(OrphanedFile.objects.values_list("action", flat=True)) == {"reported"}
    assert File.objects.get(pk=landscape["b-orphan"]).status == "verified"


def test_an_attachment_removed_later_makes_its_file_an_orphan_again(
    landscape: dict[str, str],
) -> None:
    """Attachment counts follow the attachments table, whichever code changes it."""
    attached = File.objects.get(pk=landscape["a-attached"])
    assert attached.attachment_count == 1
    assert not File.objects.filter(orphaned_q(), pk=attached.pk).exists()

    EntryFile.objects.filter(file_id=attached.pk).delete()

    attached.refresh_from_db()
    assert attached.attachment_count == 0
    report = orphaned_files_report()
    assert set(report.rows.values_list("name", flat=True)) == {
        "a-orphan.fastq",
        "a-attached.fastq",
        "b-orphan.fastq",
    }
