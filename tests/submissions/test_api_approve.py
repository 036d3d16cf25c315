"""Approve and release: output files become public (tag, then released_at), anonymous reads,
released-data, who sees what, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from groups.models import Membership
from submissions.models import ProcessedData, SequenceEntry
from tests.conftest import sha256_hex
from tests.submissions.conftest import (
    READS,
    approve,
    av,
    cell,
    claimed,
    error,
    error_code,
    ndjson,
    processed,
    result,
    revise,
    row,
    submitted,
    upload,
)

pytestmark = pytest.mark.django_db

DERIVED = b"@read1\nTGCATGCA\n+\nIIIIIIII\n" * 10


@pytest.fixture
def processed_entry(submitter: Any, pipeline: Any) -> dict[str, Any]:
    """An entry with submitted reads, processed into a derived file plus the reads passed
    through, and a second submitted file the pipeline did not pass through."""
    reads = upload(submitter, READS, name="run1.fastq")
    notes = upload(submitter, b"private notes", name="notes.txt")
    [entry] = submitted(
        submitter,
        [
            row(
                "s1",
                **{"files.raw_reads": cell(("run1.fastq", reads))},
                **{"files.assembly_notes": cell(("notes.txt", notes))},
            )
        ],
    )
    claimed(pipeline)
    derived = upload(pipeline, DERIVED, name="clean.fastq", group=submitter.group)
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
    return {**entry, "av": av(entry), "reads": reads, "notes": notes, "derived": derived}


def test_approval_publishes_every_output_file(
    submitter: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    # when a group member approves the processed entry
    response = approve(submitter, {"accessionVersions": [processed_entry["av"]]})

    # then it is released
    assert response.status_code == 200
    assert response.json() == [
        {
            "accession": processed_entry["accession"],
            "version": 1,
            "accessionVersion": processed_entry["av"],
        }
    ]
    entry = SequenceEntry.objects.get(accession=processed_entry["accession"])
    assert entry.status == "APPROVED_FOR_RELEASE"
    assert entry.released_at is not None
    assert entry.approver == submitter.user

    # and both outputs are tagged public and released; the file not passed through is not
    for file_id in (processed_entry["derived"], processed_entry["reads"]):
        file = File.objects.get(pk=file_id)
        assert file.released_at is not None
        assert s3.object_tags(key=file.key, version_id=file.s3_version_id) == {"public": "true"}
        assert AuditEvent.objects.filter(action="file.released", object_id=file_id).exists()
    notes = File.objects.get(pk=processed_entry["notes"])
    assert notes.released_at is None
    assert s3.object_tags(key=notes.key) == {}

    # and anyone downloads the outputs through their public URL, audited
    for file_id, data in ((processed_entry["derived"], DERIVED), (processed_entry["reads"], READS)):
        redirect = anonymous.get(f"/api/files/{file_id}/download")
        assert redirect.status_code == 307
        location = redirect["Location"]
        verified_version = File.objects.get(pk=file_id).s3_version_id
        assert location == s3.public_url(
            key=f"files/{file_id}", base=None, version_id=verified_version
        )
        assert location.endswith(f"?versionId={verified_version}")
        assert "X-Amz-Signature" not in location
        assert requests.get(location, timeout=30).content == data
    assert (
        AuditEvent.objects.filter(
            action="file.download_url_issued", actor=None, details__public=True
        ).count()
        == 2
    )
    assert anonymous.get(f"/api/files/{processed_entry['notes']}/download").status_code == 404


def test_unreleased_files_stay_hidden_from_outsiders(
    stranger: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    for client in (stranger.client, anonymous):
        assert client.get(f"/api/files/{processed_entry['derived']}/download").status_code == 404
        assert client.get(f"/api/entries/{processed_entry['av']}/").status_code == 404
        assert client.get("/api/entries/").json()["count"] == 0


def test_the_public_sees_released_processed_data_and_public_files_only(
    submitter: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    approve(submitter, {"accessionVersions": [processed_entry["av"]]})
    public = anonymous.get(f"/api/entries/{processed_entry['av']}/").json()
    assert public["metadata"] is None
    assert public["processedData"]["metadata"] == {"lineage": "B.1"}
    assert {(f["kind"], f["name"]) for f in public["files"]} == {
        ("output", "clean.fastq"),
        ("output", "run1.fastq"),
        ("input", "run1.fastq"),
    }
    own = submitter.client.get(f"/api/entries/{processed_entry['av']}/").json()
    assert own["metadata"]["geoLocCountry"] == "Switzerland"
    assert ("input", "notes.txt") in {(f["kind"], f["name"]) for f in own["files"]}


def test_released_data_streams_released_entries_with_file_urls_and_checksums(
    submitter: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    submitted(submitter, [row("unreleased")])
    assert ndjson(anonymous.get("/api/released-data")) == []
    approve(submitter, {"accessionVersions": [processed_entry["av"]]})

    response = anonymous.get("/api/released-data?organism=sars-cov-2")
    assert response.streaming
    [line] = ndjson(response)
    assert line["accessionVersion"] == processed_entry["av"]
    assert line["versionStatus"] == "LATEST_VERSION"
    assert line["metadata"] == {"lineage": "B.1"}
    assert line["pipelineVersion"] == 1
    [clean] = line["files"]["raw_reads"]
    assert (clean["name"], clean["size"], clean["sha256"]) == (
        "clean.fastq",
        len(DERIVED),
        sha256_hex(DERIVED),
    )
    assert requests.get(clean["publicUrl"], timeout=30).content == DERIVED
    assert anonymous.get(clean["url"]).status_code == 307
    assert set(line["files"]) == {"raw_reads", "aligned_reads"}


def test_scope_all_approves_every_processed_entry_without_errors(
    submitter: Any, pipeline: Any
) -> None:
    entries = submitted(submitter, [row("ok"), row("broken"), row("waiting")])
    claimed(pipeline, number=2)
    processed(
        pipeline,
        [result(av(entries[0])), result(av(entries[1]), errors=[{"message": "bad"}])],
    )
    response = approve(submitter, {"scope": "all", "groupId": submitter.group.pk})
    assert response.status_code == 200
    assert [a["accessionVersion"] for a in response.json()] == [av(entries[0])]
    assert list(
        SequenceEntry.objects.order_by("submission_id").values_list("submission_id", "status")
    ) == [("broken", "PROCESSED"), ("ok", "APPROVED_FOR_RELEASE"), ("waiting", "RECEIVED")]


def test_a_plain_member_and_a_curator_may_approve(
    make_actor: Any, submitter: Any, pipeline: Any
) -> None:
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    curator = make_actor(staff=True)
    entries = submitted(submitter, [row("a"), row("b")])
    claimed(pipeline)
    processed(pipeline, [result(av(entries[0])), result(av(entries[1]))])
    assert approve(member, {"accessionVersions": [av(entries[0])]}).status_code == 200
    assert approve(curator, {"accessionVersions": [av(entries[1])]}).status_code == 200


# --- refusals -------------------------------------------------------------------------------


def test_only_processed_entries_are_approved_and_nothing_on_refusal(
    submitter: Any, pipeline: Any, processed_entry: dict[str, Any]
) -> None:
    [waiting] = submitted(submitter, [row("waiting")])
    response = approve(submitter, {"accessionVersions": [processed_entry["av"], av(waiting)]})
    assert (response.status_code, error_code(response)) == (422, "entry_not_processed")
    assert error(response)["details"]["items"] == [f"{av(waiting)} (RECEIVED)"]
    assert not SequenceEntry.objects.filter(released_at__isnull=False).exists()
    assert not File.objects.filter(released_at__isnull=False).exists()

    approve(submitter, {"accessionVersions": [processed_entry["av"]]})
    response = approve(submitter, {"accessionVersions": [processed_entry["av"]]})
    assert (response.status_code, error_code(response)) == (409, "entry_already_released")


def test_entries_of_other_groups_and_malformed_ids_are_refused(
    stranger: Any, submitter: Any, processed_entry: dict[str, Any]
) -> None:
    response = approve(stranger, {"accessionVersions": [processed_entry["av"]]})
    assert (response.status_code, error_code(response)) == (422, "accession_version_not_found")
    assert error(response)["details"]["items"] == [processed_entry["av"]]

    response = approve(submitter, {"accessionVersions": ["SV_1", "x.y"]})
    assert (response.status_code, error_code(response)) == (400, "invalid_accession_version")

    response = approve(stranger, {"scope": "all", "groupId": submitter.group.pk})
    assert (response.status_code, error_code(response)) == (404, "group_not_found")

    response = approve(submitter, {"scope": "all"})
    assert (response.status_code, error_code(response)) == (400, "invalid_input")
    response = approve(submitter, {})
    assert (response.status_code, error_code(response)) == (400, "invalid_input")
    assert not SequenceEntry.objects.filter(released_at__isnull=False).exists()


# --- revise and revoke after release --------------------------------------------------------


def test_a_revision_reuses_files_and_the_old_version_becomes_revised(
    submitter: Any, pipeline: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    approve(submitter, {"accessionVersions": [processed_entry["av"]]})
    extra = upload(submitter, b"more reads", name="run2.fastq")
    files_before = File.objects.count()

    response = revise(
        submitter,
        [
            {
                "accession": processed_entry["accession"],
                "submissionId": "s1",
                "sampleCollectionDate": "2024-05-02",
                "geoLocCountry": "Switzerland",
                "files.raw_reads": cell(
                    ("run1.fastq", processed_entry["reads"]), ("run2.fastq", extra)
                ),
            }
        ],
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"submissionId": "s1", "accession": processed_entry["accession"], "version": 2}
    ]
    assert File.objects.count() == files_before
    v2 = SequenceEntry.objects.get(accession=processed_entry["accession"], version=2)
    assert {str(a.file_id) for a in v2.files.all()} == {processed_entry["reads"], extra}

    [line] = claimed(pipeline)
    assert line["version"] == 2
    processed(pipeline, [result(f"{processed_entry['accession']}.2")])
    approve(submitter, {"accessionVersions": [f"{processed_entry['accession']}.2"]})
    statuses = [
        (e["version"], e["versionStatus"]) for e in ndjson(anonymous.get("/api/released-data"))
    ]
    assert statuses == [(1, "REVISED"), (2, "LATEST_VERSION")]


def test_revising_an_entry_still_being_processed_answers_409(submitter: Any, pipeline: Any) -> None:
    [entry] = submitted(submitter, [row("s1")])
    rows = [
        {
            "accession": entry["accession"],
            "sampleCollectionDate": "2024-01-01",
            "geoLocCountry": "CH",
        }
    ]
    for _ in ("RECEIVED", "IN_PROCESSING"):
        response = revise(submitter, rows)
        assert (response.status_code, error_code(response)) == (409, "entry_being_processed")
        claimed(pipeline)
    assert SequenceEntry.objects.count() == 1


def test_revising_entries_of_another_group_or_with_their_files_is_refused(
    submitter: Any, stranger: Any, pipeline: Any, processed_entry: dict[str, Any]
) -> None:
    rows = [
        {
            "accession": processed_entry["accession"],
            "sampleCollectionDate": "2024-01-01",
            "geoLocCountry": "CH",
        }
    ]
    response = revise(stranger, rows)
    assert (response.status_code, error_code(response)) == (422, "accession_not_found")

    theirs = upload(stranger, name="theirs.fastq")
    rows[0]["files.raw_reads"] = cell(("t.fq", theirs))
    response = revise(submitter, rows)
    # another group's file is answered like a file that does not exist
    assert (response.status_code, error_code(response)) == (422, "unknown_file_ids")
    assert error(response)["message"] == f"No file has the IDs: {theirs}."
    assert SequenceEntry.objects.count() == 1


def test_revocation_keeps_files_public_and_marks_versions_revoked(
    submitter: Any, anonymous: Any, processed_entry: dict[str, Any]
) -> None:
    approve(submitter, {"accessionVersions": [processed_entry["av"]]})
    response = submitter.client.post(
        "/api/revoke", {"accessions": [processed_entry["accession"]]}, format="json"
    )
    assert response.status_code == 200
    revocation = f"{processed_entry['accession']}.2"
    assert approve(submitter, {"accessionVersions": [revocation]}).status_code == 200
    lines = ndjson(anonymous.get("/api/released-data"))
    assert [(e["version"], e["versionStatus"], e["isRevocation"]) for e in lines] == [
        (1, "REVOKED", False),
        (2, "LATEST_VERSION", True),
    ]
    assert File.objects.get(pk=processed_entry["derived"]).released_at is not None
    assert ProcessedData.objects.filter(released_at__isnull=False).count() == 1

    response = submitter.client.post(
        "/api/revoke", {"accessions": [processed_entry["accession"]]}, format="json"
    )
    assert (response.status_code, error_code(response)) == (409, "entry_already_revoked")
