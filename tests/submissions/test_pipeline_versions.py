"""Pipeline versions: the manual bump, the automatic bump, and the two rules that keep files of
newer versions from staying private (at approval, and on arrival for a released entry)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from submissions.models import PipelineVersion, SequenceEntry
from submissions.services import pipeline_version_current
from tests.submissions.conftest import (
    approve,
    av,
    claimed,
    error_code,
    processed,
    result,
    row,
    submitted,
    unprocessed,
    upload,
)

pytestmark = pytest.mark.django_db
ORGANISM = "sars-cov-2"


def statuses() -> list[tuple[str, str]]:
    return list(
        SequenceEntry.objects.order_by("submission_id").values_list("submission_id", "status")
    )


def public(file_id: str) -> bool:
    file = File.objects.get(pk=file_id)
    tagged = s3.object_tags(key=file.key, version_id=file.s3_version_id).get("public") == "true"
    assert tagged == (file.released_at is not None), "tag and released_at disagree"
    return tagged


def output(pipeline: Any, group: Any, name: str) -> dict[str, list[dict[str, str]]]:
    file_id = upload(pipeline, name.encode() * 10, name=name, group=group)
    return {"aligned_reads": [{"fileId": file_id, "name": name}]}


def test_bump_pipeline_version_command(submitter: Any, pipeline: Any) -> None:
    # given one entry processed by v1 and one released
    entries = submitted(submitter, [row("processed"), row("released")])
    claimed(pipeline)
    processed(pipeline, [result(av(e)) for e in entries])
    approve(submitter, {"accessionVersions": [av(entries[1])]})

    # when the operator bumps to v2
    out = StringIO()
    call_command("bump_pipeline_version", stdout=out)

    # then v2 is current; the unreleased entry waits for v2, the released one stays released
    assert "pipeline version 2" in out.getvalue()
    assert pipeline_version_current(organism=ORGANISM) == 2
    assert statuses() == [("processed", "RECEIVED"), ("released", "APPROVED_FOR_RELEASE")]
    event = AuditEvent.objects.get(action="pipeline.version_bumped")
    assert event.details == {"from": 1, "to": 2, "automatic": False}

    # and v1 is refused from now on, v2 gets both entries
    response = unprocessed(pipeline, version=1)
    assert (response.status_code, error_code(response)) == (422, "pipeline_version_outdated")
    assert [e["submissionId"] for e in claimed(pipeline, version=2)] == ["processed", "released"]

    with pytest.raises(CommandError, match="pipeline_version_not_newer"):
        call_command("bump_pipeline_version", "--to", "2", organism=ORGANISM)


def test_the_newer_version_becomes_current_once_it_processed_every_entry(
    submitter: Any, pipeline: Any
) -> None:
    entries = submitted(submitter, [row("a"), row("b")])
    claimed(pipeline, version=1)
    processed(pipeline, [result(av(e)) for e in entries], version=1)

    # when v2 has processed only one of the two entries, v1 stays current
    claimed(pipeline, version=2)
    processed(pipeline, [result(av(entries[0]), metadata={"lineage": "v2"})], version=2)
    assert pipeline_version_current(organism=ORGANISM) == 1

    # when it has processed both, v2 becomes current by itself
    processed(pipeline, [result(av(entries[1]), metadata={"lineage": "v2"})], version=2)
    assert pipeline_version_current(organism=ORGANISM) == 2
    assert AuditEvent.objects.get(action="pipeline.version_bumped").details["automatic"] is True
    assert statuses() == [("a", "PROCESSED"), ("b", "PROCESSED")]
    detail = submitter.client.get(f"/api/entries/{av(entries[0])}/").json()
    assert detail["processedData"]["pipelineVersion"] == 2


def test_approval_publishes_files_of_newer_versions_too(submitter: Any, pipeline: Any) -> None:
    # given an entry processed by v1 (current) and already by v2, while v2 has yet to process
    # another entry (so v1 stays current)
    entry, other = submitted(submitter, [row("s1"), row("keeps-v1-current")])
    claimed(pipeline, version=1)
    v1 = output(pipeline, submitter.group, "v1.bam")
    processed(pipeline, [result(av(entry), files=v1), result(av(other))], version=1)
    claimed(pipeline, version=2, number=1)
    v2 = output(pipeline, submitter.group, "v2.bam")
    processed(pipeline, [result(av(entry), files=v2)], version=2)
    assert pipeline_version_current(organism=ORGANISM) == 1

    # when it is approved
    approve(submitter, {"accessionVersions": [av(entry)]})

    # then the files of both versions are public, so a later bump leaves nothing private
    assert public(v1["aligned_reads"][0]["fileId"])
    assert public(v2["aligned_reads"][0]["fileId"])


def test_files_arriving_for_a_released_entry_are_published_at_once(
    submitter: Any, pipeline: Any
) -> None:
    [entry] = submitted(submitter, [row("s1")])
    claimed(pipeline, version=1)
    processed(pipeline, [result(av(entry))], version=1)
    approve(submitter, {"accessionVersions": [av(entry)]})

    # when v2 processes the released entry
    claimed(pipeline, version=2)
    v2 = output(pipeline, submitter.group, "v2.bam")
    processed(pipeline, [result(av(entry), files=v2)], version=2)

    # then its file is public at once, though v2 is current only now
    assert public(v2["aligned_reads"][0]["fileId"])
    assert SequenceEntry.objects.get().status == "APPROVED_FOR_RELEASE"


def test_files_of_a_version_older_than_the_current_one_stay_private(
    submitter: Any, pipeline: Any
) -> None:
    [entry] = submitted(submitter, [row("s1")])
    claimed(pipeline, version=1)
    v1 = output(pipeline, submitter.group, "v1.bam")
    processed(pipeline, [result(av(entry), files=v1)], version=1)
    claimed(pipeline, version=2)
    v2 = output(pipeline, submitter.group, "v2.bam")
    processed(pipeline, [result(av(entry), files=v2)], version=2)
    assert PipelineVersion.objects.get(organism=ORGANISM).version == 2

    approve(submitter, {"accessionVersions": [av(entry)]})

    assert public(v2["aligned_reads"][0]["fileId"])
    assert not public(v1["aligned_reads"][0]["fileId"])


def test_pipeline_versions_endpoint(submitter: Any, pipeline: Any) -> None:
    call_command("bump_pipeline_version", "--to", "3", stdout=StringIO())
    assert pipeline.client.get("/api/pipeline/versions").json() == [
        {"organism": ORGANISM, "version": 3}
    ]
