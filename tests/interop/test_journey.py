"""Loculus's clients and a DRS client around one entry: the website uploads the reads in parts,
the pipeline uploads its output through request-upload, the entry is released, and anyone
fetches both by Loculus's files/get and by DRS."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from django.test import TestCase, override_settings

from filesharing.models import File
from tests.conftest import Actor
from tests.submissions.conftest import (
    approve,
    av,
    cell,
    claimed,
    processed,
    result,
    row,
    submitted,
)

pytestmark = pytest.mark.django_db
MIB = 1024**2


def _website_upload(actor: Actor, data: bytes, part_size: int) -> str:
    assert actor.group is not None
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    [item] = actor.client.post(
        f"/loculus/files/request-multipart-upload?groupId={actor.group.pk}"
        f"&numberFiles=1&numberParts={len(parts)}"
    ).json()
    etags = [
        requests.put(url, data=part, timeout=60).headers["ETag"]
        for url, part in zip(item["urls"], parts, strict=True)
    ]
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = actor.client.post(
            "/loculus/files/complete-multipart-upload",
            [{"fileId": item["fileId"], "etags": etags}],
            format="json",
        )
    assert done.status_code == 200, done.content
    return str(item["fileId"])


def _pipeline_upload(pipeline: Actor, group_id: int, data: bytes) -> str:
    """As Loculus's pipeline: <host>/files/request-upload, then a PUT with the headers."""
    [item] = pipeline.client.post(f"/files/request-upload?groupId={group_id}&numberFiles=1").json()
    put = requests.put(
        item["url"],
        data=data,
        headers={"Content-Type": "chemical/x-embl-dl-nucleotide", **item["headers"]},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    return str(item["fileId"])


@override_settings(VERIFY_HASH_MAX_BYTES=0, MULTIPART_VERIFY_HASH_MAX_BYTES=0)
def test_loculus_uploads_then_loculus_and_drs_downloads(
    submitter: Actor, make_actor: Any, anonymous: Any
) -> None:
    assert submitter.group is not None
    pipeline = make_actor(pipeline=True)
    reads = b"@r\nACGT\n+\nIIII\n" * (7 * MIB // 16)
    reads_id = _website_upload(submitter, reads, 5 * MIB)
    [entry] = submitted(
        submitter, [row("sample-1", **{"files.raw_reads": cell(("run1.fastq", reads_id))})]
    )
    [work] = claimed(pipeline)
    assert requests.get(work["data"]["files"]["raw_reads"][0]["url"], timeout=30).content == reads

    embl = b"ID   X; SV 1; linear; genomic DNA\n" * 100
    embl_id = _pipeline_upload(pipeline, submitter.group.pk, embl)
    processed(
        pipeline,
        [
            result(
                av(entry),
                files={
                    # what is released is the pipeline's output: the reads are passed through
                    "raw_reads": [{"fileId": reads_id, "name": "run1.fastq"}],
                    "aligned_reads": [{"fileId": embl_id, "name": "x.embl"}],
                },
            )
        ],
    )
    # cited by the pipeline, the file was verified with the SHA-256 seqvault computed
    assert File.objects.get(pk=embl_id).sha256 == hashlib.sha256(embl).hexdigest()
    assert approve(submitter, {"accessionVersions": [av(entry)]}).status_code == 200

    accession, version = av(entry).split(".")
    for category, name, data in (
        ("raw_reads", "run1.fastq", reads),
        ("aligned_reads", "x.embl", embl),
    ):
        redirect = anonymous.get(f"/files/get/{accession}/{version}/{category}/{name}")
        assert redirect.status_code == 307, redirect.content
        assert requests.get(redirect["Location"], timeout=60).content == data

    bundle = anonymous.get(f"/ga4gh/drs/v1/objects/{av(entry)}?expand=true").json()
    blobs = {c["name"]: c for item in bundle["contents"] for c in item["contents"]}
    assert set(blobs) == {"run1.fastq", "x.embl"}
    blob = anonymous.get(f"/ga4gh/drs/v1/objects/{blobs['run1.fastq']['id']}").json()
    assert blob["checksums"][0] == {
        "type": "sha-256",
        "checksum": hashlib.sha256(reads).hexdigest(),
    }
    assert [c["type"] for c in blob["checksums"]] == ["sha-256"]  # a multipart ETag is no MD5
    url = anonymous.get(f"/ga4gh/drs/v1/objects/{blob['id']}/access/https").json()["url"]
    assert requests.get(url, timeout=60).content == reads
