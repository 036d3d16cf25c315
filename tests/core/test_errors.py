from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_malformed_json_answers_400_with_a_code(submitter: Any) -> None:
    response = submitter.client.post(
        "/api/files/request-uploads", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_unknown_method_answers_405_with_a_code(submitter: Any) -> None:
    response = submitter.client.put("/api/groups/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_schema_and_docs_are_served(submitter: Any) -> None:
    schema = submitter.client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/files/request-uploads" in paths
    assert "/api/files/{file_id}/download" in paths
    assert submitter.client.get("/api/docs/").status_code == 200
