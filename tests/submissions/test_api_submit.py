"""POST /api/submit: entries with files attached by ID, and every refusal with its code."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, MultipartUpload
from submissions.models import EntryFile, SequenceEntry
from tests.conftest import put_with_ticket, sha256_hex
from tests.factories import FileFactory
from tests.submissions.conftest import (
    READS,
    cell,
    error,
    error_code,
    request_upload,
    row,
    submit,
    submitted,
    upload,
)

pytestmark = pytest.mark.django_db


def nothing_stored() -> bool:
    return not SequenceEntry.objects.exists() and not EntryFile.objects.exists()


def test_files_cited_in_columns_are_attached_and_the_answer_names_the_accessions(
    submitter: Any,
) -> None:
    # given two uploaded files
    reads = upload(submitter, READS, name="run1.fastq")
    notes = upload(submitter, b"made with ivar 1.4", name="notes.txt")

    # when two rows cite them in files.<category> columns
    answer = submitted(
        submitter,
        [
            row(
                "sample-1",
                **{"files.raw_reads": cell(("run1.fastq", reads))},
                **{"files.assembly_notes": cell(("notes.txt", notes))},
            ),
            row("sample-2", hostAge="42"),
        ],
    )

    # then each row is version 1 of a new accession
    assert [a["submissionId"] for a in answer] == ["sample-1", "sample-2"]
    assert [a["version"] for a in answer] == [1, 1]
    assert answer[0]["accession"] != answer[1]["accession"]
    assert answer[0]["accession"].startswith("SV_")
    entry = SequenceEntry.objects.get(accession=answer[0]["accession"])
    assert entry.status == "RECEIVED"
    assert entry.metadata == {"sampleCollectionDate": "2024-05-01", "geoLocCountry": "Switzerland"}
    assert SequenceEntry.objects.get(accession=answer[1]["accession"]).metadata["hostAge"] == 42
    assert {(a.category, a.name, str(a.file_id)) for a in entry.files.all()} == {
        ("raw_reads", "run1.fastq", reads),
        ("assembly_notes", "notes.txt", notes),
    }
    assert AuditEvent.objects.filter(action="entry.submitted").count() == 2

    # and the group sees the files with size, checksum and a download URL that gives the bytes
    detail = submitter.client.get(f"/api/entries/{answer[0]['accession']}.1/").json()
    files = {f["name"]: f for f in detail["files"]}
    assert files["run1.fastq"]["size"] == len(READS)
    assert files["run1.fastq"]["sha256"] == sha256_hex(READS)
    assert files["run1.fastq"]["kind"] == "input"
    location = submitter.client.get(files["run1.fastq"]["url"])["Location"]
    assert requests.get(location, timeout=30).content == READS


def test_file_mapping_and_fasta_are_an_alternative_to_columns(submitter: Any) -> None:
    reads = upload(submitter, READS, name="r.fastq")
    answer = submitted(
        submitter,
        [row("s1"), row("s2")],
        fasta=b">s1\nACGT\nACGT\n>s2\nTTTT\n",
        mapping={"s1": {"raw_reads": [{"fileId": reads, "name": "r.fastq"}]}},
    )
    first = SequenceEntry.objects.get(accession=answer[0]["accession"])
    assert first.sequences == {"main": "ACGTACGT"}
    assert [str(a.file_id) for a in first.files.all()] == [reads]
    assert not SequenceEntry.objects.get(accession=answer[1]["accession"]).files.exists()


def test_a_file_nobody_confirmed_is_checked_in_s3_at_submit(submitter: Any) -> None:
    # given an upload whose PUT arrived but was never confirmed
    ticket = request_upload(submitter, submitter.group, READS, "late.fastq")
    assert put_with_ticket(ticket, READS).status_code == 200
    assert File.objects.get(pk=ticket["fileId"]).size is None

    # when a submission cites it
    submitted(submitter, [row("s1", **{"files.raw_reads": cell(("late.fastq", ticket["fileId"]))})])

    # then it was verified on the way, its size recorded
    file = File.objects.get(pk=ticket["fileId"])
    assert (file.status, file.size, file.sha256) == ("verified", len(READS), sha256_hex(READS))


def test_the_same_file_may_be_cited_by_two_entries_without_a_copy(submitter: Any) -> None:
    reads = upload(submitter)
    submitted(
        submitter,
        [
            row("a", **{"files.raw_reads": cell(("reads.fastq", reads))}),
            row("b", **{"files.raw_reads": cell(("same.fastq", reads))}),
        ],
    )
    assert File.objects.count() == 1
    assert EntryFile.objects.filter(file_id=reads).count() == 2


def test_attached_files_are_no_longer_orphaned(submitter: Any) -> None:
    attached = upload(submitter, b"cited", name="cited.fastq")
    loose = upload(submitter, b"loose", name="loose.fastq")
    File.objects.update(verified_at=timezone.now() - timedelta(days=30))
    submitted(submitter, [row("s1", **{"files.raw_reads": cell(("cited.fastq", attached))})])

    orphaned = submitter.client.get("/api/files/?orphaned=true").json()["results"]
    assert [f["fileId"] for f in orphaned] == [loose]


# --- refusals -------------------------------------------------------------------------------


def test_unknown_organism_answers_404(submitter: Any) -> None:
    response = submit(submitter, [row("s1")], organism="dodo")
    assert response.status_code == 404
    assert error_code(response) == "unknown_organism"
    assert "sars-cov-2" in error(response)["message"]


def test_someone_outside_the_group_answers_404(submitter: Any, stranger: Any) -> None:
    response = submit(stranger, [row("s1")], group=submitter.group)
    assert response.status_code == 404
    assert error_code(response) == "group_not_found"
    assert nothing_stored()


@pytest.mark.parametrize(
    ("metadata", "code", "named"),
    [
        (b"submissionId\tgeoLocCountry\n", "invalid_metadata_file", "no rows"),
        (b"\n\n", "invalid_metadata_file", "empty"),
        (b"sampleId\tgeoLocCountry\nx\tCH\n", "invalid_metadata_file", "submissionId"),
        (b"submissionId\tgeoLocCountry\ns1\tCH\textra\n", "invalid_metadata_file", "2"),
        (b"submissionId\tsubmissionId\ns1\ts1\n", "invalid_metadata_file", "submissionId"),
        (b"\xff\xfe", "invalid_metadata_file", "UTF-8"),
    ],
)
def test_malformed_metadata_files_answer_400(
    submitter: Any, metadata: bytes, code: str, named: str
) -> None:
    response = submit(submitter, metadata)
    assert response.status_code == 400
    assert error_code(response) == code
    assert named in error(response)["message"]
    assert nothing_stored()


def test_repeated_and_missing_submission_ids_are_named(submitter: Any) -> None:
    response = submit(submitter, [row("s1"), row("s1"), row("s2")])
    assert (response.status_code, error_code(response)) == (422, "duplicate_submission_id")
    assert error(response)["details"]["items"] == ["s1"]

    response = submit(submitter, [row("s1"), row("")])
    assert (response.status_code, error_code(response)) == (422, "missing_submission_id")
    assert error(response)["details"]["items"] == ["3"]
    assert nothing_stored()


def test_metadata_against_the_schema_names_every_row_at_fault(submitter: Any) -> None:
    response = submit(
        submitter,
        [
            row("good"),
            row("bad-date", sampleCollectionDate="yesterday"),
            row("bad-age", hostAge="old"),
            {"submissionId": "no-country", "sampleCollectionDate": "2024-01-01"},
            row("unknown-column", colour="blue"),
        ],
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid_metadata"
    items = error(response)["details"]["items"]
    assert len(items) == 4
    assert any(i.startswith("row 3 (bad-date): sampleCollectionDate") for i in items)
    assert any(i.startswith("row 4 (bad-age): hostAge") for i in items)
    assert any("row 5 (no-country)" in i and "geoLocCountry" in i for i in items)
    assert any("row 6 (unknown-column)" in i and "colour" in i for i in items)
    assert nothing_stored()


def test_sequences_must_match_the_rows(submitter: Any) -> None:
    response = submit(submitter, [row("s1")], fasta=b">s1\nACGT\n>ghost\nACGT\n")
    assert (response.status_code, error_code(response)) == (422, "sequence_without_metadata")
    assert error(response)["details"]["items"] == ["ghost"]

    response = submit(submitter, [row("s1")], fasta=b">s1\nACGT\n>s1\nACGT\n")
    assert error_code(response) == "duplicate_sequence_id"

    response = submit(submitter, [row("s1")], fasta=b"ACGT\n>s1\nACGT\n")
    assert (response.status_code, error_code(response)) == (400, "invalid_sequence_file")
    assert nothing_stored()


def test_malformed_file_references_answer_400(submitter: Any) -> None:
    response = submit(submitter, [row("s1", **{"files.raw_reads": "reads.fastq"})])
    assert (response.status_code, error_code(response)) == (400, "invalid_file_reference")

    response = submit(submitter, [row("s1", **{"files.raw_reads": "r.fastq:not-a-uuid"})])
    assert (response.status_code, error_code(response)) == (400, "invalid_file_reference")

    response = submit(submitter, [row("s1")], mapping={"s1": {"raw_reads": "nope"}})
    assert (response.status_code, error_code(response)) == (400, "invalid_file_mapping")

    response = submit(submitter, [row("s1")], mapping={"s9": {"raw_reads": []}})
    assert (response.status_code, error_code(response)) == (422, "file_mapping_unknown_submission")
    assert error(response)["details"]["items"] == ["s9"]
    assert nothing_stored()


def test_an_organism_without_file_categories_refuses_files(submitter: Any, tmp_path: Path) -> None:
    config = tmp_path / "organisms.yaml"
    config.write_text("organisms:\n  consensus-only:\n    metadataSchema: {type: object}\n")
    reads = upload(submitter)
    with override_settings(ORGANISMS_CONFIG=str(config)):
        response = submit(
            submitter,
            [row("s1", **{"files.raw_reads": cell(("reads.fastq", reads))})],
            organism="consensus-only",
        )
        accepted = submit(submitter, [row("s2")], organism="consensus-only")
    assert (response.status_code, error_code(response)) == (422, "files_not_enabled")
    assert "Submission s1 (row 2)" in error(response)["message"]
    assert accepted.status_code == 200


def test_file_name_rules_and_unique_names_per_category(submitter: Any) -> None:
    reads = upload(submitter)
    response = submit(
        submitter,
        [row("s1")],
        mapping={"s1": {"raw_reads": [{"fileId": reads, "name": "bad|name.fastq"}]}},
    )
    assert (response.status_code, error_code(response)) == (422, "invalid_filename")
    assert "Submission s1 (row 2) raw_reads/bad|name.fastq" in error(response)["message"]

    response = submit(
        submitter, [row("s1", **{"files.raw_reads": cell(("a.fq", reads), ("a.fq", reads))})]
    )
    assert (response.status_code, error_code(response)) == (422, "duplicate_filename")
    assert error(response)["details"]["items"] == ["Submission s1 (row 2) raw_reads/a.fq"]
    assert nothing_stored()


def test_categories_must_be_input_categories_of_the_organism(submitter: Any) -> None:
    reads = upload(submitter)
    response = submit(submitter, [row("s1", **{"files.aligned_reads": cell(("a.bam", reads))})])
    assert (response.status_code, error_code(response)) == (422, "file_category_not_allowed")
    assert error(response)["details"]["allowed"] == ["assembly_notes", "raw_reads"]
    assert nothing_stored()


def test_a_file_with_an_open_multipart_upload_is_refused_409(submitter: Any) -> None:
    file = FileFactory(group=submitter.group, name="big.bam", declared_size=10 * 1024**3)
    MultipartUpload.objects.create(
        file=file, s3_upload_id="u1", part_size=16 * 1024**2, part_count=640
    )
    response = submit(
        submitter, [row("s1", **{"files.raw_reads": cell(("big.bam", str(file.pk)))})]
    )
    assert (response.status_code, error_code(response)) == (409, "multipart_upload_open")
    assert error(response)["details"]["fileIds"] == [str(file.pk)]
    assert nothing_stored()


def test_unknown_file_ids_are_named(submitter: Any) -> None:
    ghost = str(uuid.uuid4())
    response = submit(submitter, [row("s1", **{"files.raw_reads": cell(("r.fq", ghost))})])
    assert (response.status_code, error_code(response)) == (422, "unknown_file_ids")
    assert error(response)["message"] == f"No file has the IDs: {ghost}."


def test_a_file_never_uploaded_answers_no_file_uploaded(submitter: Any) -> None:
    # given two requested uploads whose bytes never arrived
    tickets = [request_upload(submitter, submitter.group, READS, f"r{i}.fq") for i in (1, 2)]
    ids = sorted(t["fileId"] for t in tickets)
    response = submit(
        submitter,
        [row("s1", **{"files.raw_reads": cell(("r1.fq", ids[0]), ("r2.fq", ids[1]))})],
    )
    assert (response.status_code, error_code(response)) == (422, "file_not_uploaded")
    assert error(response)["message"] == f"No file uploaded for file IDs: {ids[0]}, {ids[1]}."
    assert File.objects.get(pk=ids[0]).status == "requested"
    assert nothing_stored()


def test_files_of_another_group_are_answered_like_unknown_ids(
    submitter: Any, stranger: Any
) -> None:
    theirs = upload(stranger, name="theirs.fastq")
    ghost = str(uuid.uuid4())
    answers = [
        submit(submitter, [row("s1", **{"files.raw_reads": cell(("t.fq", file_id))})])
        for file_id in (theirs, ghost)
    ]
    for response, file_id in zip(answers, (theirs, ghost), strict=True):
        assert (response.status_code, error_code(response)) == (422, "unknown_file_ids")
        assert error(response)["message"] == f"No file has the IDs: {file_id}."
        assert stranger.group.name not in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ({"deleted_at": timezone.now()}, "file_deleted"),
        ({"status": "expired"}, "file_expired"),
        ({"status": "failed", "failure_reason": "size 3 differs"}, "file_failed"),
    ],
)
def test_deleted_expired_and_failed_files_are_refused(
    submitter: Any, state: dict[str, Any], code: str
) -> None:
    file_id = upload(submitter)
    if state.get("status") in ("expired", "failed"):
        File.objects.filter(pk=file_id).update(size=None, **state)
    else:
        File.objects.filter(pk=file_id).update(**state)
    response = submit(submitter, [row("s1", **{"files.raw_reads": cell(("r.fq", file_id))})])
    assert response.status_code == 422
    assert error_code(response) == code
    assert file_id in error(response)["message"]
    assert nothing_stored()


def test_an_object_that_differs_from_its_declaration_fails_at_submit(submitter: Any) -> None:
    # given an unconfirmed upload whose object S3 holds with other bytes than declared
    ticket = request_upload(submitter, submitter.group, READS, "r.fq")
    s3.client().put_object(Bucket=s3.bucket(), Key=f"files/{ticket['fileId']}", Body=b"other")
    response = submit(
        submitter, [row("s1", **{"files.raw_reads": cell(("r.fq", ticket["fileId"]))})]
    )
    assert (response.status_code, error_code(response)) == (422, "file_failed")
    assert "differs from the declared" in error(response)["message"]
    assert nothing_stored()
