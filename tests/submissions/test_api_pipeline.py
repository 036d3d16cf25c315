"""The preprocessing pipeline: unprocessed entries as NDJSON with presigned reads, derived files
uploaded for the group, processed results, and every refusal with its code."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from core.models import AuditEvent
from filesharing.models import File
from submissions.models import EntryFile, ProcessedData, SequenceEntry
from submissions.tasks import reset_stale_processing_task
from tests.conftest import sha256_hex
from tests.presigned import parse_presigned
from tests.submissions.conftest import (
    READS,
    cell,
    claimed,
    error,
    error_code,
    ndjson,
    processed,
    result,
    row,
    send_processed,
    submitted,
    unprocessed,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(submitter: Any) -> dict[str, Any]:
    """One submitted entry with a raw_reads file."""
    reads = upload(submitter, READS, name="run1.fastq")
    [answer] = submitted(submitter, [row("s1", **{"files.raw_reads": cell(("run1.fastq", reads))})])
    return {**answer, "fileId": reads, "av": f"{answer['accession']}.1"}


def test_unprocessed_streams_entries_with_read_urls_valid_30_minutes(
    pipeline: Any, entry: dict[str, Any]
) -> None:
    # when the pipeline asks for work
    response = unprocessed(pipeline, number=10, version=1)

    # then it streams NDJSON: the entry, its metadata and its files with presigned GETs
    assert response.status_code == 200
    assert response.streaming
    [line] = ndjson(response)
    assert (line["accession"], line["version"], line["submissionId"]) == (
        entry["accession"],
        1,
        "s1",
    )
    assert line["data"]["metadata"]["geoLocCountry"] == "Switzerland"
    [file] = line["data"]["files"]["raw_reads"]
    assert (file["fileId"], file["name"]) == (entry["fileId"], "run1.fastq")
    parsed = parse_presigned(file["url"])
    assert (parsed.key, parsed.expires_in) == (f"files/{entry['fileId']}", 1800)
    assert requests.get(file["url"], timeout=30).content == READS

    # and the entry is in processing, the read URL audited, and it is not handed out twice
    assert SequenceEntry.objects.get(accession=entry["accession"]).status == "IN_PROCESSING"
    assert AuditEvent.objects.filter(
        action="file.download_url_issued", object_id=entry["fileId"], details__purpose="pipeline"
    ).exists()
    assert claimed(pipeline) == []


def test_number_of_entries_limits_the_claim_and_the_rest_follow(
    submitter: Any, pipeline: Any
) -> None:
    submitted(submitter, [row(f"s{i}") for i in range(5)])
    first = claimed(pipeline, number=3)
    second = claimed(pipeline, number=3)
    assert [e["submissionId"] for e in first] == ["s0", "s1", "s2"]
    assert [e["submissionId"] for e in second] == ["s3", "s4"]


def test_the_pipeline_uploads_a_derived_file_for_the_group_and_reports_it(
    pipeline: Any, submitter: Any, entry: dict[str, Any]
) -> None:
    claimed(pipeline)
    # given a derived file the pipeline uploads on behalf of the group
    derived = upload(pipeline, b"ACGT" * 100, name="aligned.bam", group=submitter.group)
    assert File.objects.get(pk=derived).group == submitter.group

    # when it reports its result, passing the submitted reads through as an output
    processed(
        pipeline,
        [
            result(
                entry["av"],
                files={
                    "aligned_reads": [{"fileId": derived, "name": "aligned.bam"}],
                    "raw_reads": [{"fileId": entry["fileId"], "name": "run1.fastq"}],
                },
                warnings=[{"message": "low coverage"}],
            )
        ],
    )

    # then the entry is processed and shows the outputs to its group
    stored = SequenceEntry.objects.get(accession=entry["accession"])
    assert stored.status == "PROCESSED"
    data = ProcessedData.objects.get(entry=stored)
    assert (data.pipeline_version, data.status, data.warnings) == (
        1,
        "PROCESSED",
        [{"message": "low coverage"}],
    )
    detail = submitter.client.get(f"/api/entries/{entry['av']}/").json()
    assert detail["processedData"]["metadata"] == {"lineage": "B.1"}
    outputs = {(f["category"], f["name"]) for f in detail["files"] if f["kind"] == "output"}
    assert outputs == {("aligned_reads", "aligned.bam"), ("raw_reads", "run1.fastq")}
    assert EntryFile.objects.filter(file_id=entry["fileId"]).count() == 2


# --- refusals -------------------------------------------------------------------------------


def test_only_the_pipeline_may_claim_or_report(submitter: Any, entry: dict[str, Any]) -> None:
    response = unprocessed(submitter)
    assert (response.status_code, error_code(response)) == (403, "not_pipeline")
    response = send_processed(submitter, [result(entry["av"])])
    assert (response.status_code, error_code(response)) == (403, "not_pipeline")
    assert SequenceEntry.objects.get(accession=entry["accession"]).status == "RECEIVED"


def test_bad_query_parameters_answer_400(pipeline: Any) -> None:
    response = pipeline.client.get("/api/pipeline/unprocessed?numberOfEntries=0&pipelineVersion=1")
    assert (response.status_code, error_code(response)) == (400, "invalid_input")
    response = unprocessed(pipeline, organism="dodo")
    assert (response.status_code, error_code(response)) == (404, "unknown_organism")
    response = unprocessed(pipeline, version=2**31)
    assert (response.status_code, error_code(response)) == (400, "invalid_input")


def test_results_for_entries_not_in_processing_are_refused(
    pipeline: Any, entry: dict[str, Any]
) -> None:
    response = send_processed(pipeline, [result(entry["av"])])
    assert (response.status_code, error_code(response)) == (422, "entry_not_in_processing")
    assert f"{entry['av']} (not handed out)" in error(response)["message"]

    claimed(pipeline)
    processed(pipeline, [result(entry["av"])])
    response = send_processed(pipeline, [result(entry["av"])])
    assert (response.status_code, error_code(response)) == (422, "entry_not_in_processing")
    assert f"{entry['av']} (PROCESSED)" in error(response)["message"]


def test_unknown_and_repeated_accession_versions_are_named(
    pipeline: Any, entry: dict[str, Any]
) -> None:
    claimed(pipeline)
    response = send_processed(pipeline, [result(entry["av"]), result("SV_999999.1")])
    assert (response.status_code, error_code(response)) == (422, "accession_version_not_found")
    assert error(response)["details"]["items"] == ["SV_999999.1"]

    response = send_processed(pipeline, [result(entry["av"]), result(entry["av"])])
    assert (response.status_code, error_code(response)) == (422, "duplicate_accession_version")
    assert ProcessedData.objects.get().status == "IN_PROCESSING"


def test_malformed_lines_answer_400_with_the_line(pipeline: Any, entry: dict[str, Any]) -> None:
    claimed(pipeline)
    response = pipeline.client.post(
        "/api/pipeline/processed?pipelineVersion=1",
        data=json.dumps(result(entry["av"])) + "\n{not json\n",
        content_type="application/x-ndjson",
    )
    assert (response.status_code, error_code(response)) == (400, "malformed_request")
    assert "Line 2" in error(response)["message"]

    response = send_processed(pipeline, [{"accession": entry["accession"], "version": 1}])
    assert (response.status_code, error_code(response)) == (400, "invalid_processed_data")
    bad_file = result(entry["av"], files={"raw_reads": [{"name": "x.fq"}]})
    response = send_processed(pipeline, [bad_file])
    assert (response.status_code, error_code(response)) == (400, "invalid_processed_data")
    assert "needs a fileId" in error(response)["message"]


def test_output_categories_are_checked(pipeline: Any, entry: dict[str, Any]) -> None:
    claimed(pipeline)
    response = send_processed(
        pipeline,
        [result(entry["av"], files={"assembly_notes": [{"fileId": entry["fileId"], "name": "n"}]})],
    )
    assert (response.status_code, error_code(response)) == (422, "file_category_not_allowed")
    assert f"Accession version {entry['av']} assembly_notes/n" in error(response)["message"]


def test_a_file_of_another_group_is_refused_with_both_groups_named(
    pipeline: Any, submitter: Any, stranger: Any, entry: dict[str, Any]
) -> None:
    claimed(pipeline)
    foreign = upload(pipeline, b"x", name="x.bam", group=stranger.group)
    response = send_processed(
        pipeline,
        [result(entry["av"], files={"aligned_reads": [{"fileId": foreign, "name": "x.bam"}]})],
    )
    assert (response.status_code, error_code(response)) == (422, "unknown_file_ids")
    assert error(response)["message"] == f"No file has the IDs: {foreign}."
    assert ProcessedData.objects.get().status == "IN_PROCESSING"


def test_output_files_are_verified_as_on_submit(
    pipeline: Any, submitter: Any, entry: dict[str, Any]
) -> None:
    claimed(pipeline)
    never = pipeline.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "numberFiles": 1},
        format="json",
    ).json()[0]["fileId"]
    response = send_processed(
        pipeline,
        [result(entry["av"], files={"aligned_reads": [{"fileId": never, "name": "a.bam"}]})],
    )
    assert (response.status_code, error_code(response)) == (422, "file_not_uploaded")
    assert error(response)["message"] == f"No file uploaded for file IDs: {never}."

    ghost = str(uuid.uuid4())
    response = send_processed(
        pipeline,
        [result(entry["av"], files={"aligned_reads": [{"fileId": ghost, "name": "a.bam"}]})],
    )
    assert (response.status_code, error_code(response)) == (422, "unknown_file_ids")


def test_a_result_with_errors_is_stored_and_cannot_be_approved(
    pipeline: Any, submitter: Any, entry: dict[str, Any]
) -> None:
    claimed(pipeline)
    processed(pipeline, [result(entry["av"], errors=[{"message": "no reads map"}])])
    detail = submitter.client.get(f"/api/entries/{entry['av']}/").json()
    assert detail["status"] == "PROCESSED"
    assert detail["processedData"]["errors"] == [{"message": "no reads map"}]
    response = submitter.client.post(
        "/api/approve", {"accessionVersions": [entry["av"]]}, format="json"
    )
    assert (response.status_code, error_code(response)) == (422, "entry_has_errors")


def test_derived_file_bytes_round_trip_through_the_pipeline(
    pipeline: Any, submitter: Any, entry: dict[str, Any]
) -> None:
    [line] = claimed(pipeline)
    raw = requests.get(line["data"]["files"]["raw_reads"][0]["url"], timeout=30).content
    derived_bytes = raw.replace(b"ACGT", b"TGCA")
    derived = upload(pipeline, derived_bytes, name="dehumanized.fastq", group=submitter.group)
    processed(
        pipeline,
        [result(entry["av"], files={"raw_reads": [{"fileId": derived, "name": "clean.fastq"}]})],
    )
    [output] = [
        f
        for f in submitter.client.get(f"/api/entries/{entry['av']}/").json()["files"]
        if f["kind"] == "output"
    ]
    assert output["sha256"] == sha256_hex(derived_bytes)
    location = submitter.client.get(output["url"])["Location"]
    assert requests.get(location, timeout=30).content == derived_bytes


def test_claims_the_pipeline_never_answered_are_handed_out_again(
    pipeline: Any, entry: dict[str, Any]
) -> None:
    # given a claim whose pipeline died twelve hours ago
    claimed(pipeline)
    ProcessedData.objects.update(started_at=timezone.now() - timedelta(hours=13))

    # when the scheduled job runs
    assert reset_stale_processing_task.apply().get() == 1

    # then the entry waits again and is handed out anew; the late result is refused
    assert SequenceEntry.objects.get(accession=entry["accession"]).status == "RECEIVED"
    assert AuditEvent.objects.filter(action="entry.processing_reset").count() == 1
    response = send_processed(pipeline, [result(entry["av"])])
    assert (response.status_code, error_code(response)) == (422, "entry_not_in_processing")
    assert [line["accession"] for line in claimed(pipeline)] == [entry["accession"]]
    assert reset_stale_processing_task.apply().get() == 0
