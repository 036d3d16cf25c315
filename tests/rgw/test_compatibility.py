"""docs/operations.md's compatibility table, for the stores the suite runs on: its LocalStack
and Ceph RGW columns say what the probe and a presigned PUT find on them here. (`make test`
runs this on LocalStack, then on Ceph RGW.)"""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings

from filesharing import s3
from filesharing.services.storage import storage_probe

pytestmark = [pytest.mark.rgw, pytest.mark.django_db]
TABLE = Path(settings.BASE_DIR) / "docs" / "operations.md"
# rows of the table and what the probe records for them
PROBED = {
    "checks `x-amz-checksum-sha256` on a PUT": "verifies_sha256",
    "checks `x-amz-checksum-sha256` on a part": "verifies_part_sha256",
    "checks `Content-MD5`": "verifies_md5",
    "honours `If-None-Match: *` on a PUT": "honours_if_none_match",
    "enforces the bucket policy for unsigned requests": "enforces_bucket_policy",
    "reports an object's tag count on a HEAD": "reports_tag_count",
}
UNSIGNED_HEADERS = "honours an unsigned `x-amz-tagging` of a presigned PUT"


def store_under_test() -> str:
    """The column of the store under test: `make test` exports CEPH_CONF for Ceph RGW."""
    if os.environ.get("CEPH_CONF"):
        return "Ceph RGW"
    endpoint = (settings.S3_ENDPOINT_URL or "").rstrip("/")
    try:
        if endpoint and requests.get(f"{endpoint}/_localstack/health", timeout=5).ok:
            return "LocalStack"
    except requests.RequestException:
        pass
    pytest.skip("the table has no measured column for this S3")


def documented(column: str) -> dict[str, bool]:
    """Row label -> the column's yes/no, as the table in docs/operations.md says."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in TABLE.read_text().splitlines()
        if line.startswith("| ")
    ]
    header = next(row for row in rows if any(cell.startswith("Ceph RGW") for cell in row))
    index = next(i for i, cell in enumerate(header) if cell.startswith(column))
    found = {}
    for row in rows[rows.index(header) + 1 :]:
        if len(row) != len(header):
            break
        word = re.sub(r"[^a-z]", " ", row[index].lower()).split()
        if word and word[0] in ("yes", "no"):
            found[row[0]] = word[0] == "yes"
    return found


def test_the_probe_finds_what_the_table_says_of_this_store() -> None:
    said = documented(store_under_test())
    found = storage_probe()
    assert {label: getattr(found, field) for label, field in PROBED.items()} == {
        label: said[label] for label in PROBED
    }


def test_an_unsigned_tagging_header_of_a_presigned_put_is_honoured_as_the_table_says() -> None:
    said = documented(store_under_test())[UNSIGNED_HEADERS]
    key = f"{s3.PROBE_PREFIX}{uuid.uuid4()}/tagged"
    # a PUT URL that signs nothing but the host (as project sessions' URLs do)
    url = s3.presign_session_put(key=key, size=None, sha256_hex=None, lifetime=timedelta(minutes=5))
    try:
        sent = requests.put(url.url, data=b"x", headers={"x-amz-tagging": "probe=1"}, timeout=30)
        honoured = sent.status_code == 200 and s3.object_tags(key=key) == {"probe": "1"}
        assert (honoured, sent.status_code) == (said, 200 if said else 403)
    finally:
        s3.delete_prefix(prefix=key.rsplit("/", 1)[0] + "/")
