"""Helpers for the adapters' tests: files uploaded as Loculus's clients do (real bytes in S3),
and entry versions citing them."""

from __future__ import annotations

from typing import Any

import requests

from filesharing.models import File
from filesharing.services import file_verify
from groups.models import Group
from submissions.models import EntryFile, SequenceEntry
from tests.conftest import Actor
from tests.factories import processed_entry

READS = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 50


def loculus_file(actor: Actor, data: bytes = READS, *, prefix: str = "/loculus") -> File:
    """request-upload with no body, PUT with the answered headers, then verification."""
    assert actor.group is not None
    response = actor.client.post(
        f"{prefix}/files/request-upload?groupId={actor.group.pk}&numberFiles=1"
    )
    assert response.status_code == 200, response.content
    [item] = response.json()
    put = requests.put(item["url"], data=data, headers=item["headers"], timeout=30)
    assert put.status_code == 200, put.text
    return file_verify(file_id=item["fileId"])


def entry_citing(
    group: Group, file: File, *, accession: str, released: bool, category: str = "raw_reads"
) -> SequenceEntry:
    """An entry version whose submitted files (category raw_reads) include `file`; released
    entries have released processed data and a released file, as approval leaves them."""
    made, _ = processed_entry(group, accession, released=released)
    EntryFile.objects.create(
        entry=made, kind="input", category=category, name=file.name or "reads.fastq", file=file
    )
    if released:
        File.objects.filter(pk=file.pk).update(released_at=made.released_at)
    return made


def problem(response: Any) -> dict[str, Any]:
    """A Loculus problem detail: exactly its keys and seqvault's code."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code"}, body
    assert body["status"] == response.status_code
    assert body["type"] == "about:blank"
    assert isinstance(body["detail"], str) and body["detail"]
    return body
