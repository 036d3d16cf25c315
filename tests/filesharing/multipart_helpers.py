"""Helpers for the multipart tests: declared files, upload starts, part URLs and real PUTs."""

from __future__ import annotations

import os
from typing import Any

import requests
from django.test import TestCase

from tests.conftest import sha256_hex

MIB = 1024**2
PART = 5 * MIB


def make_data(size: int) -> bytes:
    return os.urandom(size)


def chunks(data: bytes, part_size: int = PART) -> list[bytes]:
    return [data[i : i + part_size] for i in range(0, len(data), part_size)] or [b""]


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def request_file(actor: Any, size: int | None, *, name: str = "run.bam", **spec: Any) -> str:
    body = {"name": name, **spec}
    if size is not None:
        body["size"] = size
    response = actor.client.post(
        "/api/files/request-uploads", {"groupId": actor.group.pk, "files": [body]}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()[0]["fileId"]


def start(actor: Any, file_id: str, **body: Any) -> Any:
    return actor.client.post(
        f"/api/files/{file_id}/multipart_uploads", {"partSize": PART, **body}, format="json"
    )


def part_urls(actor: Any, upload_id: str, parts: list[dict[str, Any]]) -> Any:
    return actor.client.post(
        f"/api/multipart_uploads/{upload_id}/parts", {"parts": parts}, format="json"
    )


def put_part(part_url: dict[str, Any], data: bytes) -> requests.Response:
    return requests.put(part_url["url"], data=data, headers=part_url["headers"], timeout=60)


def send_parts(actor: Any, upload_id: str, pieces: dict[int, bytes]) -> dict[int, str]:
    """Ask for the URLs of these parts at once, PUT each; returns part number → ETag."""
    response = part_urls(
        actor,
        upload_id,
        [{"partNumber": n, "sha256": sha256_hex(data)} for n, data in pieces.items()],
    )
    assert response.status_code == 200, response.content
    etags = {}
    for item in response.json()["parts"]:
        put = put_part(item, pieces[item["partNumber"]])
        assert put.status_code == 200, put.text
        etags[item["partNumber"]] = put.headers["ETag"].strip('"')
    return etags


def complete(actor: Any, upload_id: str, etags: dict[int, str], **body: Any) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return actor.client.patch(
            f"/api/multipart_uploads/{upload_id}/",
            {"status": "uploaded", "parts": {str(n): e for n, e in etags.items()}, **body},
            format="json",
        )


def started_upload(actor: Any, data: bytes, **spec: Any) -> tuple[str, dict[str, Any]]:
    file_id = request_file(actor, len(data), **spec)
    response = start(actor, file_id)
    assert response.status_code == 201, response.content
    return file_id, response.json()
