"""GET /api/entries/: filters, versions, and who sees which entries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.submissions.conftest import (
    approve,
    av,
    cell,
    claimed,
    error_code,
    processed,
    result,
    revise,
    row,
    submitted,
    upload,
)

pytestmark = pytest.mark.django_db


def listed(client: Any, query: str = "") -> list[str]:
    response = client.get(f"/api/entries/{query}")
    assert response.status_code == 200, response.content
    return [entry["accessionVersion"] for entry in response.json()["results"]]


def test_filters_by_group_status_and_organism(submitter: Any, stranger: Any, pipeline: Any) -> None:
    mine = submitted(submitter, [row("a"), row("b")])
    theirs = submitted(stranger, [row("c")])
    claimed(pipeline, number=1)

    assert listed(submitter.client) == [av(e) for e in mine]
    assert listed(pipeline.client, f"?groupId={stranger.group.pk}") == [av(theirs[0])]
    assert listed(pipeline.client, "?status=IN_PROCESSING") == [av(mine[0])]
    assert listed(pipeline.client, "?organism=sars-cov-2&status=RECEIVED") == [
        av(mine[1]),
        av(theirs[0]),
    ]
    assert listed(pipeline.client, "?organism=other") == []
    response = submitter.client.get("/api/entries/?status=LOST")
    assert (response.status_code, error_code(response)) == (400, "invalid_input")


def test_versions_and_latest_only(submitter: Any, pipeline: Any, anonymous: Any) -> None:
    [entry] = submitted(submitter, [row("a")])
    claimed(pipeline)
    processed(pipeline, [result(av(entry))])
    approve(submitter, {"accessionVersions": [av(entry)]})
    revised = revise(
        submitter,
        [
            {
                "accession": entry["accession"],
                "sampleCollectionDate": "2024-01-02",
                "geoLocCountry": "CH",
            }
        ],
    )
    assert revised.status_code == 200, revised.content
    v1, v2 = f"{entry['accession']}.1", f"{entry['accession']}.2"

    assert listed(submitter.client, f"?accession={entry['accession']}") == [v1, v2]
    assert listed(submitter.client, "?latestOnly=true") == [v2]
    # the public sees the released version only, and as the latest it knows of
    assert listed(anonymous) == [v1]
    assert listed(anonymous, "?latestOnly=true") == [v1]
    assert anonymous.get(f"/api/entries/{v2}/").status_code == 404


def test_malformed_or_unknown_accession_versions_answer_404(submitter: Any) -> None:
    for text in ("nope", "SV_000001", "SV_000001.x", "SV_999999.1"):
        response = submitter.client.get(f"/api/entries/{text}/")
        assert (response.status_code, error_code(response)) == (404, "entry_not_found")


def test_pages(submitter: Any) -> None:
    submitted(submitter, [row(f"s{i}") for i in range(5)])
    page = submitter.client.get("/api/entries/?page_size=2&page=3").json()
    assert page["count"] == 5
    assert len(page["results"]) == 1


def test_a_page_of_entries_reads_their_files_in_the_same_queries_at_any_size(
    submitter: Any,
) -> None:
    rows = []
    for i in range(5):  # both pages below have a next one, so both count
        reads = [
            upload(submitter, f"reads {i} {n}".encode(), name=f"r{i}{n}.fastq") for n in (1, 2)
        ]
        cells = cell(*((f"run{n}.fastq", file_id) for n, file_id in enumerate(reads, 1)))
        rows.append(row(f"s{i}", **{"files.raw_reads": cells}))
    answers = submitted(submitter, rows)

    def page(size: int) -> tuple[list[dict[str, Any]], int]:
        with CaptureQueriesContext(connection) as queries:
            response = submitter.client.get(f"/api/entries/?page_size={size}")
        assert response.status_code == 200, response.content
        return response.json()["results"], len(queries.captured_queries)

    one, queries_for_one = page(1)
    four, queries_for_four = page(4)

    assert queries_for_four == queries_for_one
    assert [entry["accessionVersion"] for entry in four] == [av(a) for a in answers[:4]]
    for entry in four:
        assert [(f["category"], f["name"], f["kind"]) for f in entry["files"]] == [
            ("raw_reads", "run1.fastq", "input"),
            ("raw_reads", "run2.fastq", "input"),
        ]
        assert all(f["url"].endswith(f"/api/files/{f['fileId']}/download") for f in entry["files"])
        assert all(len(f["sha256"]) == 64 and f["released"] is False for f in entry["files"])
    assert one == four[:1]
