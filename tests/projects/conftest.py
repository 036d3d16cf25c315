"""Helpers for projects: upload as an ArtifactDB client would (POST, PUT the bytes to the
presigned URLs with nothing but the body, PUT the completion URL) and read jobs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Permission
from django.test import TestCase
from rest_framework.test import APIClient

from tests.conftest import Actor

REPORT = b"This report is so amazing, wow.\n"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the checksum ArtifactDB clients send


def report_metadata(data: bytes = REPORT, *, path: str = "report.txt", **fields: Any) -> bytes:
    """A compiled_report/v1.json document describing `path` (the seed's example)."""
    document = {
        "source": "report.pl",
        "path": path,
        "md5sum": md5_hex(data),
        "$schema": "compiled_report/v1.json",
        **fields,
    }
    return json.dumps({k: v for k, v in document.items() if v is not None}).encode()


@pytest.fixture
def uploader(make_actor: Any) -> Actor:
    """A service account with the uploader role (projects.upload_any_project), in no group."""
    actor = make_actor()
    actor.user.user_permissions.add(
        Permission.objects.get(codename="upload_any_project", content_type__app_label="projects")
    )
    return actor


def start(
    actor: Actor | APIClient,
    filenames: list[Any],
    *,
    path: str = "/api/projects/upload",
    **body: Any,
) -> Any:
    client = actor.client if isinstance(actor, Actor) else actor
    if path == "/api/projects/upload" and "group" not in body and isinstance(actor, Actor):
        body["group"] = str(actor.group.pk) if actor.group else None
    payload = {"filenames": filenames, **{k: v for k, v in body.items() if v is not None}}
    return client.post(path, payload, format="json")


def started(actor: Actor, filenames: list[Any], **kwargs: Any) -> dict[str, Any]:
    response = start(actor, filenames, **kwargs)
    assert response.status_code == 200, response.content
    return dict(response.json())


def put(answer: dict[str, Any], name: str, data: bytes) -> requests.Response:
    """PUT the bytes as ArtifactDB's documentation does (curl --upload-file): the body only,
    plus any headers the answer asks for."""
    headers = answer.get("upload_headers", {}).get(name, {})
    return requests.put(answer["presigned_urls"][name], data=data, headers=headers, timeout=30)


def put_all(answer: dict[str, Any], files: dict[str, bytes]) -> None:
    for name, data in files.items():
        response = put(answer, name, data)
        assert response.status_code == 200, response.text


def complete(
    client: APIClient, answer: dict[str, Any], permissions: dict[str, Any] | None = None
) -> Any:
    """PUT the completion URL and run the job it queues (tasks run inline in these tests)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.put(answer["completion_url"], permissions or {}, format="json")


def job(job_id: str) -> dict[str, Any]:
    """GET /api/jobs/<id> as anyone: no token needed."""
    response = APIClient().get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def completed(
    actor: Actor, answer: dict[str, Any], permissions: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = complete(actor.client, answer, permissions)
    assert response.status_code == 202, response.content
    result = job(response.json()["job_id"])
    assert result["status"] == "SUCCESS", result
    return result


def uploaded_version(
    actor: Actor,
    files: dict[str, bytes],
    *,
    permissions: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Start, PUT every file, complete: the answer of the upload."""
    answer = started(actor, list(files), **kwargs)
    put_all(answer, files)
    completed(actor, answer, permissions)
    return answer


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])
