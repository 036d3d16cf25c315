"""What the configured S3 checks, probed once and recorded: the integrity path follows from it.

Where S3 verifies SHA-256 on PUT and on parts, URLs sign the declared SHA-256 and S3's checksum
is recorded. Where it does not (Ceph RGW), URLs sign Content-MD5 and a file is verified only
once seqvault has hashed the whole object. Where If-None-Match is ignored, nothing changes:
every read names the verified S3 version anyway.
"""

from __future__ import annotations

import copy
import threading

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from filesharing import s3
from filesharing.models import StorageCapabilities

_memo: dict[tuple[str, str], StorageCapabilities] = {}
_memo_lock = threading.Lock()


def _where() -> tuple[str, str]:
    return settings.S3_ENDPOINT_URL or "", s3.bucket()


def storage_probe() -> StorageCapabilities:
    """Probe the endpoint now and record what it checks (setup_bucket, check_storage)."""
    endpoint, bucket = _where()
    found = s3.probe_capabilities()
    values = {
        "verifies_sha256": found.verifies_sha256,
        "verifies_part_sha256": found.verifies_part_sha256,
        "verifies_md5": found.verifies_md5,
        "honours_if_none_match": found.honours_if_none_match,
        "enforces_bucket_policy": found.enforces_bucket_policy,
        "reports_tag_count": found.reports_tag_count,
        "probed_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            row, _ = StorageCapabilities.objects.update_or_create(
                endpoint=endpoint, bucket=bucket, defaults=values
            )
    except IntegrityError:  # two processes probed at once: the other one's row is as good
        row = StorageCapabilities.objects.get(endpoint=endpoint, bucket=bucket)
    with _memo_lock:
        _memo[(endpoint, bucket)] = copy.copy(row)
    return row


def storage_capabilities() -> StorageCapabilities:
    """The recorded capabilities of the configured bucket; probed now if none are recorded,
    so that a deployment that never ran setup_bucket still takes the right path."""
    where = _where()
    row = StorageCapabilities.objects.filter(endpoint=where[0], bucket=where[1]).first()
    if row is not None:
        return row
    with _memo_lock:
        remembered = _memo.get(where)
    return copy.copy(remembered) if remembered is not None else storage_probe()


def storage_capabilities_report() -> dict[str, object]:
    """As health reports it."""
    found = storage_capabilities()
    return {
        "integrityPath": found.integrity_path,
        "verifiesSha256": found.verifies_sha256,
        "verifiesPartSha256": found.verifies_part_sha256,
        "verifiesMd5": found.verifies_md5,
        "honoursIfNoneMatch": found.honours_if_none_match,
        "enforcesBucketPolicy": found.enforces_bucket_policy,
        "reportsTagCount": found.reports_tag_count,
        "probedAt": found.probed_at.isoformat(),
    }
