"""The entries API is in the OpenAPI document, NDJSON endpoints with their media type."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_entries_endpoints_are_documented(submitter: Any) -> None:
    paths = submitter.client.get("/api/schema/?format=json").json()["paths"]
    for path in (
        "/api/submit",
        "/api/revise",
        "/api/revoke",
        "/api/approve",
        "/api/entries/",
        "/api/entries/{accession_version}/",
        "/api/pipeline/unprocessed",
        "/api/pipeline/processed",
        "/api/pipeline/versions",
        "/api/released-data",
        "/api/organisms/",
    ):
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/submit"]["post"]["requestBody"]["content"]
    for path in ("/api/pipeline/unprocessed", "/api/released-data"):
        assert "application/x-ndjson" in paths[path]["get"]["responses"]["200"]["content"]
    processed = paths["/api/pipeline/processed"]["post"]["requestBody"]["content"]
    assert "application/x-ndjson" in processed


def test_organisms_are_listed_for_clients(anonymous: Any) -> None:
    [organism] = anonymous.get("/api/organisms/").json()
    assert organism["name"] == "sars-cov-2"
    assert [c["name"] for c in organism["inputFileCategories"]] == ["raw_reads", "assembly_notes"]
    assert "aligned_reads" in [c["name"] for c in organism["outputFileCategories"]]
    assert "sampleCollectionDate" in organism["metadataSchema"]["required"]
