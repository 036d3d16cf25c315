"""Release with a real Celery worker: the whole journey with real bytes, and a release cut short
by a dead worker and an unreachable S3, repaired by reconciliation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from core.models import AuditEvent
from devtools.s3_emulator import Emulator
from filesharing import s3
from filesharing.models import File
from submissions.models import SequenceEntry
from submissions.services import public_tags_reconcile
from tests.celery_worker import celery_worker, wait_until
from tests.outages import freeze, resume
from tests.submissions.conftest import (
    READS,
    approve,
    av,
    cell,
    claimed,
    processed,
    result,
    row,
    submitted,
    upload,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
RELEASE_TASK = "submissions.tasks.release_processed_data_task"


def released(*file_ids: str) -> bool:
    return File.objects.filter(pk__in=file_ids, released_at__isnull=False).count() == len(file_ids)


def tags(file_id: str) -> dict[str, str]:
    file = File.objects.get(pk=file_id)
    return s3.object_tags(key=file.key, version_id=file.s3_version_id)


def test_journey_upload_submit_process_approve_and_public_download(
    submitter: Any, pipeline: Any, anonymous: Any, tmp_path: Path
) -> None:
    with celery_worker(tmp_path) as worker:
        # a submitter uploads reads and submits an entry citing them
        reads = upload(submitter, READS, name="run1.fastq")
        [entry] = submitted(
            submitter, [row("sample-1", **{"files.raw_reads": cell(("run1.fastq", reads))})]
        )

        # the pipeline reads the bytes through its presigned URL
        [work] = claimed(pipeline)
        fetched = requests.get(work["data"]["files"]["raw_reads"][0]["url"], timeout=30).content
        assert fetched == READS

        # and uploads a derived file for the group, then reports its result
        derived_bytes = fetched.replace(b"ACGT", b"TGCA")
        derived = upload(pipeline, derived_bytes, name="clean.fastq", group=submitter.group)
        processed(
            pipeline,
            [
                result(
                    av(entry),
                    files={
                        "raw_reads": [{"fileId": derived, "name": "clean.fastq"}],
                        "aligned_reads": [{"fileId": reads, "name": "run1.fastq"}],
                    },
                )
            ],
        )
        assert SequenceEntry.objects.get().status == "PROCESSED"

        # a member approves; the worker tags the files and marks them released
        response = approve(submitter, {"accessionVersions": [av(entry)]})
        assert response.status_code == 200
        wait_until(lambda: released(derived, reads), what="the worker to publish the files")
        assert RELEASE_TASK in worker.log()

    # anyone downloads them: a redirect to the public object, which holds the bytes
    for file_id, data in ((derived, derived_bytes), (reads, READS)):
        assert tags(file_id) == {"public": "true"}
        redirect = anonymous.get(f"/api/files/{file_id}/download")
        assert redirect.status_code == 307
        assert requests.get(redirect["Location"], timeout=30).content == data


def test_a_release_cut_short_by_a_dead_worker_and_s3_is_repaired_by_reconciliation(
    own_s3: Emulator, submitter: Any, pipeline: Any, anonymous: Any, tmp_path: Path
) -> None:
    # given two processed entries, each with an output file
    entries = submitted(submitter, [row("first"), row("second")])
    claimed(pipeline)
    outputs = {}
    for entry in entries:
        data = f"output of {entry['submissionId']}".encode() * 50
        file_id = upload(pipeline, data, name=f"{entry['submissionId']}.bam", group=submitter.group)
        outputs[entry["submissionId"]] = (file_id, data)
        processed(
            pipeline,
            [result(av(entry), files={"aligned_reads": [{"fileId": file_id, "name": "a.bam"}]})],
        )
    first, second = outputs["first"][0], outputs["second"][0]

    with celery_worker(tmp_path) as worker:
        # the first release goes through
        approve(submitter, {"accessionVersions": [av(entries[0])]})
        wait_until(lambda: released(first), what="the first release")

        # when S3 stops answering and the worker dies while it publishes the second
        freeze(own_s3)
        approve(submitter, {"accessionVersions": [av(entries[1])]})
        wait_until(
            lambda: worker.log().count(f"Task {RELEASE_TASK}[") >= 2,
            what="the worker to take the second release",
        )
        worker.kill()
        resume(own_s3)

    # then the entry is released but its file is not: no tag, no released_at, not public
    assert SequenceEntry.objects.get(submission_id="second").released_at is not None
    assert File.objects.get(pk=second).released_at is None
    assert tags(second) == {}
    assert anonymous.get(f"/api/files/{second}/download").status_code == 404

    # when the hourly reconciliation runs
    report = public_tags_reconcile()

    # then it finished the release, said so in the audit, and left the first one alone
    assert report.released == [second]
    assert (report.tagged, report.untagged) == ([], [])
    assert tags(second) == {"public": "true"}
    assert released(first, second)
    assert AuditEvent.objects.filter(action="file.release_repaired", object_id=second).exists()
    assert not AuditEvent.objects.filter(action="file.release_repaired", object_id=first).exists()
    redirect = anonymous.get(f"/api/files/{second}/download")
    assert redirect.status_code == 307
    assert requests.get(redirect["Location"], timeout=30).content == outputs["second"][1]


def test_a_release_in_chunks_killed_midway_is_finished_by_reconciliation(
    own_s3: Emulator,
    submitter: Any,
    pipeline: Any,
    anonymous: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an entry whose three output files are published one chunk each
    monkeypatch.setenv("RELEASE_CHUNK_SIZE", "1")
    [entry] = submitted(submitter, [row("many")])
    claimed(pipeline)
    outputs = {
        upload(pipeline, f"part {n}".encode() * 40, name=f"part{n}.bam", group=submitter.group): n
        for n in range(3)
    }
    processed(
        pipeline,
        [
            result(
                av(entry),
                files={
                    "aligned_reads": [
                        {"fileId": file_id, "name": f"p{n}.bam"} for file_id, n in outputs.items()
                    ]
                },
            )
        ],
    )

    with celery_worker(tmp_path) as worker:
        # when S3 stops answering and the worker dies inside the first chunk
        freeze(own_s3)
        approve(submitter, {"accessionVersions": [av(entry)]})
        wait_until(
            lambda: "Task filesharing.tasks.publish_files_task[" in worker.log(),
            what="the worker to take a chunk",
        )
        # the release was split into three chunks
        assert re.search(rf"Task {RELEASE_TASK}\[[^]]+\] succeeded in [\d.]+s: 3\n", worker.log())
        worker.kill()
        resume(own_s3)

    # then nothing is public yet
    assert File.objects.filter(pk__in=outputs, released_at__isnull=False).count() == 0
    assert all(tags(file_id) == {} for file_id in outputs)

    # when reconciliation runs, every chunk's files are tagged, released and audited
    report = public_tags_reconcile()

    assert sorted(report.released) == sorted(outputs)
    assert released(*outputs)
    assert all(tags(file_id) == {"public": "true"} for file_id in outputs)
    assert (
        AuditEvent.objects.filter(
            action="file.release_repaired", object_id__in=list(outputs)
        ).count()
        == 3
    )
    for file_id in outputs:
        assert anonymous.get(f"/api/files/{file_id}/download").status_code == 307
