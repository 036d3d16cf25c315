"""reconcile_public_tags: S3's tags made to agree with the database, an audit event per repair."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from submissions.models import ProcessedData
from submissions.tasks import reconcile_public_tags_task
from tests.submissions.conftest import (
    approve,
    av,
    claimed,
    processed,
    result,
    row,
    submitted,
    upload,
)

pytestmark = pytest.mark.django_db


def tags(file_id: str) -> dict[str, str]:
    file = File.objects.get(pk=file_id)
    return s3.object_tags(key=file.key, version_id=file.s3_version_id)


def test_reconcile_repairs_each_kind_of_disagreement(submitter: Any, pipeline: Any) -> None:
    # given a released entry with three output files, and a loose private file
    [entry] = submitted(submitter, [row("s1")])
    claimed(pipeline)
    outputs = [upload(pipeline, name.encode(), name=name, group=submitter.group) for name in "abc"]
    processed(
        pipeline,
        [result(av(entry), files={"aligned_reads": [{"fileId": f, "name": f} for f in outputs]})],
    )
    approve(submitter, {"accessionVersions": [av(entry)]})
    private = upload(submitter, b"private", name="private.fastq")
    untagged, unreleased, ok = outputs

    # and what a crash or a hand can leave behind:
    s3.set_object_tags(key=f"files/{untagged}", tags={})  # released, tag lost
    File.objects.filter(pk=unreleased).update(released_at=None)  # tagged, release not recorded
    s3.set_object_tags(key=f"files/{private}", tags={"public": "true", "owner": "x"})  # stray

    # when the hourly job runs
    report = reconcile_public_tags_task.apply().get()

    # then every file of the released entry is public and released, the stray tag is gone
    assert report["released"] == [unreleased]
    assert report["tagged"] == [untagged]
    assert report["untagged"] == [private]
    assert report["unreadable"] == []
    for file_id in outputs:
        assert tags(file_id) == {"public": "true"}
        assert File.objects.get(pk=file_id).released_at is not None
    assert tags(private) == {"owner": "x"}
    assert File.objects.get(pk=private).released_at is None
    assert ok not in report["tagged"] + report["released"]

    # and each repair is on record
    actions = dict(
        AuditEvent.objects.filter(
            action__in=[
                "file.release_repaired",
                "file.public_tag_repaired",
                "file.public_tag_removed",
            ]
        ).values_list("object_id", "action")
    )
    assert actions == {
        unreleased: "file.release_repaired",
        untagged: "file.public_tag_repaired",
        private: "file.public_tag_removed",
    }

    # and a second run finds nothing to do
    again = reconcile_public_tags_task.apply().get()
    assert (again["released"], again["tagged"], again["untagged"]) == ([], [], [])


def test_files_of_unreleased_processed_data_are_never_published(
    submitter: Any, pipeline: Any
) -> None:
    [entry] = submitted(submitter, [row("s1")])
    claimed(pipeline)
    output = upload(pipeline, b"out", name="out.bam", group=submitter.group)
    processed(
        pipeline, [result(av(entry), files={"aligned_reads": [{"fileId": output, "name": "o"}]})]
    )
    assert not ProcessedData.objects.filter(released_at__isnull=False).exists()

    call_command("reconcile_public_tags", stdout=StringIO())

    assert tags(output) == {}
    assert File.objects.get(pk=output).released_at is None


def test_the_scheduled_jobs_of_entries() -> None:
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["submissions.tasks.reconcile_public_tags_task"].total_seconds() == 3600
    assert schedule["submissions.tasks.report_orphaned_files_task"].total_seconds() == 86400
    assert schedule["submissions.tasks.reset_stale_processing_task"].total_seconds() == 900
