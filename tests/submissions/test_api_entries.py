"""GET /api/entries/: filters, versions, and who sees which entries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.submissions.conftest import (
    approve,
    av,
    claimed,
    error_code,
    processed,
    result,
    revise,
    row,
    submitted,
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
