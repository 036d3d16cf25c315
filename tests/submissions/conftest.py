"""Helpers for entries: submit as a client would (multipart TSV, FASTA, fileMapping), play the
pipeline (NDJSON both ways), and approve."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from groups.models import Group
from tests.conftest import Actor, put_with_ticket, sha256_hex

READS = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 20


@pytest.fixture
def pipeline(make_actor: Any) -> Actor:
    """A service account with the pipeline permission, member of no group."""
    return make_actor(pipeline=True)


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def row(submission_id: str, **columns: str) -> dict[str, str]:
    """A metadata row valid for the default organism."""
    return {
        "submissionId": submission_id,
        "sampleCollectionDate": "2024-05-01",
        "geoLocCountry": "Switzerland",
        **columns,
    }


def tsv(rows: list[dict[str, str]]) -> bytes:
    columns = list(dict.fromkeys(name for r in rows for name in r))
    lines = ["\t".join(columns)] + ["\t".join(r.get(c, "") for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def cell(*files: tuple[str, str]) -> str:
    """A files.<category> cell: space-separated name:fileId pairs."""
    return " ".join(f"{name}:{file_id}" for name, file_id in files)


def _form(metadata: bytes, fasta: bytes | None, mapping: dict[str, Any] | None) -> dict[str, Any]:
    form: dict[str, Any] = {"metadataFile": SimpleUploadedFile("metadata.tsv", metadata)}
    if fasta is not None:
        form["sequenceFile"] = SimpleUploadedFile("sequences.fasta", fasta)
    if mapping is not None:
        form["fileMapping"] = json.dumps(mapping)
    return form


def submit(
    actor: Actor,
    rows: list[dict[str, str]] | bytes,
    *,
    group: Group | None = None,
    organism: str | None = None,
    fasta: bytes | None = None,
    mapping: dict[str, Any] | None = None,
) -> Any:
    group = group or actor.group
    assert group is not None
    query = f"?groupId={group.pk}" + (f"&organism={organism}" if organism else "")
    metadata = rows if isinstance(rows, bytes) else tsv(rows)
    return actor.client.post(
        f"/api/submit{query}", _form(metadata, fasta, mapping), format="multipart"
    )


def submitted(actor: Actor, rows: list[dict[str, str]], **kwargs: Any) -> list[dict[str, Any]]:
    response = submit(actor, rows, **kwargs)
    assert response.status_code == 200, response.content
    return response.json()


def revise(
    actor: Actor,
    rows: list[dict[str, str]],
    *,
    fasta: bytes | None = None,
    mapping: dict[str, Any] | None = None,
) -> Any:
    return actor.client.post("/api/revise", _form(tsv(rows), fasta, mapping), format="multipart")


def request_upload(actor: Actor, group: Group, data: bytes, name: str) -> dict[str, Any]:
    response = actor.client.post(
        "/api/files/request-uploads",
        {
            "groupId": group.pk,
            "files": [{"name": name, "size": len(data), "sha256": sha256_hex(data)}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()[0]


def upload(
    actor: Actor, data: bytes = READS, *, name: str = "reads.fastq", group: Group | None = None
) -> str:
    """Request, PUT and confirm one file for the group; answers its file ID."""
    group = group or actor.group
    assert group is not None
    ticket = request_upload(actor, group, data, name)
    assert put_with_ticket(ticket, data).status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True):
        confirmed = actor.client.post(f"/api/files/{ticket['fileId']}/confirm")
    assert confirmed.status_code in (200, 202), confirmed.content
    return str(ticket["fileId"])


def ndjson(response: Any) -> list[dict[str, Any]]:
    assert response["Content-Type"] == "application/x-ndjson", response.content
    body = b"".join(response.streaming_content)
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def unprocessed(pipeline: Actor, *, number: int = 100, version: int = 1, **query: str) -> Any:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return pipeline.client.get(
        f"/api/pipeline/unprocessed?numberOfEntries={number}&pipelineVersion={version}"
        + (f"&{params}" if params else "")
    )


def claimed(pipeline: Actor, *, number: int = 100, version: int = 1) -> list[dict[str, Any]]:
    response = unprocessed(pipeline, number=number, version=version)
    assert response.status_code == 200, response.content
    return ndjson(response)


def result(
    accession_version: str,
    *,
    files: dict[str, list[dict[str, str]]] | None = None,
    metadata: dict[str, Any] | None = None,
    errors: list[Any] | None = None,
    warnings: list[Any] | None = None,
) -> dict[str, Any]:
    accession, version = accession_version.rsplit(".", 1)
    return {
        "accession": accession,
        "version": int(version),
        "data": {"metadata": metadata or {"lineage": "B.1"}, "files": files or {}},
        "errors": errors or [],
        "warnings": warnings or [],
    }


def send_processed(pipeline: Actor, results: list[Any], *, version: int = 1) -> Any:
    body = "".join(json.dumps(item) + "\n" for item in results)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return pipeline.client.post(
            f"/api/pipeline/processed?pipelineVersion={version}",
            data=body,
            content_type="application/x-ndjson",
        )


def processed(pipeline: Actor, results: list[Any], *, version: int = 1) -> None:
    response = send_processed(pipeline, results, version=version)
    assert response.status_code == 204, response.content


def approve(actor: Actor, body: dict[str, Any]) -> Any:
    """POST approve and run the publication it queues (tasks run inline in these tests)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return actor.client.post("/api/approve", body, format="json")


def av(entry: dict[str, Any]) -> str:
    return f"{entry['accession']}.{entry['version']}"
