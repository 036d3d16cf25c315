"""GA4GH DRS 1.2: files are blobs, entry versions bundles of their categories; released objects
are open to all, the rest follow the same visibility as the rest of the API."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest
import requests
from django.test import override_settings

from core.models import AuditEvent
from filesharing.models import File
from tests.conftest import Actor
from tests.interop.conftest import READS, entry_citing, loculus_file
from tests.presigned import parse_presigned

pytestmark = pytest.mark.django_db
DRS = "/ga4gh/drs/v1"
BLOB_KEYS = {
    "id",
    "name",
    "self_uri",
    "size",
    "created_time",
    "updated_time",
    "version",
    "checksums",
    "access_methods",
}


def test_service_info_is_a_ga4gh_drs_service_with_the_capabilities(anonymous: Any) -> None:
    response = anonymous.get(f"{DRS}/service-info")
    assert response.status_code == 200
    info = response.json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.2.0"}
    assert {"id", "name", "organization", "version"} <= set(info)
    assert set(info["organization"]) == {"name", "url"}
    assert info["capabilities"]["limits"]["multipart"]["maxParts"] == 10_000
    assert info["capabilities"] == anonymous.get("/api/capabilities").json()


def test_a_released_file_is_a_blob_anyone_fetches(submitter: Actor, anonymous: Any) -> None:
    assert submitter.group is not None
    file = loculus_file(submitter, READS)
    entry_citing(submitter.group, file, accession="SV_000001", released=True)

    response = anonymous.get(f"{DRS}/objects/{file.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == BLOB_KEYS
    assert body["id"] == str(file.pk)
    assert body["self_uri"] == f"drs://testserver/{file.pk}"
    assert body["size"] == len(READS)
    assert body["created_time"].endswith("Z")
    assert body["checksums"] == [
        {"type": "sha-256", "checksum": hashlib.sha256(READS).hexdigest()},
        {"type": "md5", "checksum": hashlib.md5(READS).hexdigest()},  # noqa: S324
    ]
    assert body["access_methods"] == [{"type": "https", "access_id": "https"}]

    access = anonymous.get(f"{DRS}/objects/{file.pk}/access/https")
    assert access.status_code == 200
    assert set(access.json()) == {"url"}
    assert requests.get(access.json()["url"], timeout=30).content == READS
    assert AuditEvent.objects.filter(action="file.download_url_issued", object_id=str(file.pk))


def test_a_private_file_needs_a_bearer_token_of_its_group(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    assert submitter.group is not None
    file = loculus_file(submitter, READS)

    own = submitter.client.get(f"{DRS}/objects/{file.pk}")
    assert own.status_code == 200 and own.json()["size"] == len(READS)
    access = submitter.client.get(f"{DRS}/objects/{file.pk}/access/https")
    url = access.json()["url"]
    assert parse_presigned(url).key == f"files/{file.pk}"
    assert requests.get(url, timeout=30).content == READS

    for path in (f"objects/{file.pk}", f"objects/{file.pk}/access/https"):
        refused = anonymous.get(f"{DRS}/{path}")
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert set(refused.json()) == {"msg", "status_code", "code"}
        assert refused.json()["status_code"] == 401
        hidden = stranger.client.get(f"{DRS}/{path}")
        assert hidden.status_code == 404 and hidden.json()["status_code"] == 404

    # the same answers as for objects that do not exist
    missing = stranger.client.get(f"{DRS}/objects/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert stranger.client.get(f"{DRS}/objects/not~an~id").status_code == 404
    assert stranger.client.get(f"{DRS}/objects/{file.pk}/access/s3").status_code == 404
    assert submitter.client.get(f"{DRS}/objects/{file.pk}/access/s3").status_code == 404


def test_files_without_bytes_or_deleted_are_no_objects(submitter: Actor) -> None:
    assert submitter.group is not None
    requested = submitter.client.post(
        f"/loculus/files/request-upload?groupId={submitter.group.pk}"
    ).json()[0]
    assert submitter.client.get(f"{DRS}/objects/{requested['fileId']}").status_code == 404
    file = loculus_file(submitter, READS)
    assert submitter.client.delete(f"/api/files/{file.pk}/").status_code == 200
    assert submitter.client.get(f"{DRS}/objects/{file.pk}").status_code == 404


def test_an_entry_version_is_a_bundle_of_its_categories(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    assert submitter.group is not None
    reads = loculus_file(submitter, READS)
    notes = loculus_file(submitter, b"notes\n" * 10)
    entry = entry_citing(submitter.group, reads, accession="SV_000003", released=True)
    entry.files.create(kind="input", category="assembly_notes", name="notes.txt", file=notes)
    File.objects.filter(pk=notes.pk).update(released_at=entry.released_at)

    response = anonymous.get(f"{DRS}/objects/SV_000003.1")
    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["self_uri"] == "drs://testserver/SV_000003.1"
    assert bundle["size"] == len(READS) + 60
    assert "access_methods" not in bundle
    assert bundle["contents"] == [
        {
            "name": "assembly_notes",
            "id": "SV_000003.1~assembly_notes",
            "drs_uri": ["drs://testserver/SV_000003.1~assembly_notes"],
        },
        {
            "name": "raw_reads",
            "id": "SV_000003.1~raw_reads",
            "drs_uri": ["drs://testserver/SV_000003.1~raw_reads"],
        },
    ]
    # DRS's bundle checksum: SHA-256 over the sorted checksums of its contents
    category = anonymous.get(f"{DRS}/objects/SV_000003.1~raw_reads").json()
    assert category["contents"] == [
        {"name": "reads.fastq", "id": str(reads.pk), "drs_uri": [f"drs://testserver/{reads.pk}"]}
    ]
    assert category["checksums"] == [
        {"type": "sha-256", "checksum": hashlib.sha256(reads.sha256.encode()).hexdigest()}
    ]
    notes_category = anonymous.get(f"{DRS}/objects/SV_000003.1~assembly_notes").json()
    digests = sorted(
        [category["checksums"][0]["checksum"], notes_category["checksums"][0]["checksum"]]
    )
    assert bundle["checksums"] == [
        {"type": "sha-256", "checksum": hashlib.sha256("".join(digests).encode()).hexdigest()}
    ]
    expanded = anonymous.get(f"{DRS}/objects/SV_000003.1?expand=true").json()
    assert expanded["contents"][1]["contents"] == category["contents"]
    # a bundle has no bytes of its own
    assert anonymous.get(f"{DRS}/objects/SV_000003.1/access/https").status_code == 401
    assert stranger.client.get(f"{DRS}/objects/SV_000003.1/access/https").status_code == 404
    assert stranger.client.get(f"{DRS}/objects/SV_000003.1~nothing").status_code == 404


def test_an_unreleased_entry_is_its_groups_bundle_only(
    submitter: Actor, stranger: Actor, anonymous: Any
) -> None:
    assert submitter.group is not None
    reads = loculus_file(submitter, READS)
    entry_citing(submitter.group, reads, accession="SV_000004", released=False)
    own = submitter.client.get(f"{DRS}/objects/SV_000004.1")
    assert own.status_code == 200
    assert own.json()["contents"][0]["id"] == "SV_000004.1~raw_reads"
    assert anonymous.get(f"{DRS}/objects/SV_000004.1").status_code == 401
    assert stranger.client.get(f"{DRS}/objects/SV_000004.1").status_code == 404


def test_manifests_carry_drs_uris(submitter: Actor, anonymous: Any) -> None:
    assert submitter.group is not None
    reads = loculus_file(submitter, READS)
    entry = entry_citing(submitter.group, reads, accession="SV_000005", released=True)
    entry.files.create(
        kind="output",
        processed_data=entry.processed.get(),
        category="aligned_reads",
        name="aligned.bam",
        file=reads,
    )
    response = anonymous.get("/api/released-data")
    body = b"".join(response.streaming_content).decode()
    [record] = [json.loads(line) for line in body.splitlines() if line]
    [item] = record["files"]["aligned_reads"]
    assert item["drsUri"] == f"drs://testserver/{reads.pk}"

    with override_settings(DRS_HOSTNAME="drs.example.org"):
        manifest = anonymous.get("/released/manifest.tsv?entry=SV_000005.1")
        text = b"".join(manifest.streaming_content).decode()
        blob = anonymous.get(f"{DRS}/objects/{reads.pk}").json()
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert rows[0]["drsUri"] == f"drs://drs.example.org/{reads.pk}"
    assert blob["self_uri"] == rows[0]["drsUri"]
