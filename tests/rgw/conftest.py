"""Tests marked `rgw`: `make test` runs them a second time against Ceph RGW, an S3 server
that enforces bucket policies and STS session policies (devtools/ceph_rgw.py). Privacy tests
need such a server and skip elsewhere; the attack and integrity tests run on every S3."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.test import TestCase

from filesharing import s3
from filesharing.models import StorageCapabilities
from filesharing.services.storage import storage_capabilities, storage_probe

NOT_ENFORCING = (
    "this S3 enforces no bucket policy (LocalStack serves every unsigned GET), so it cannot "
    "show what an anonymous client may read; `make test` runs this against Ceph RGW"
)


@pytest.fixture
def enforcing_store(db: None) -> StorageCapabilities:
    """Skips unless the S3 under test refuses an unsigned GET of an untagged object."""
    found = storage_capabilities()
    if not found.enforces_bucket_policy:
        pytest.skip(NOT_ENFORCING)
    return found


@pytest.fixture
def md5_path(db: None) -> StorageCapabilities:
    """The integrity path of an S3 that checks no SHA-256 (Ceph RGW): the probed record where
    that is the truth, else a record saying so (LocalStack checks Content-MD5 as RGW does)."""
    found = storage_probe()
    if found.integrity_path == StorageCapabilities.IntegrityPath.MD5:
        return found
    # a row of this test's transaction: the probed record stays as it was for other tests
    StorageCapabilities.objects.filter(pk=found.pk).update(
        verifies_sha256=False, verifies_part_sha256=False
    )
    return StorageCapabilities.objects.get(pk=found.pk)


def anonymous_get(url: str) -> requests.Response:
    return requests.get(url, timeout=30)


def unsigned_url(key: str, version_id: str = "") -> str:
    return s3.public_url(key=key, base=None, version_id=version_id)


def sweep_next_run_at(key: str) -> None:
    """The stray-version sweep's next run starts with `key`: a test's bucket holds every other
    test's objects too, and a run lists a bounded slice of it."""
    from filesharing.models import StrayVersionSweep

    StrayVersionSweep.objects.update_or_create(
        endpoint=settings.S3_ENDPOINT_URL or "",
        bucket=s3.bucket(),
        defaults={"next_key": key, "next_version": ""},
    )


def released(file_id: str) -> None:
    from filesharing.services.release import file_publish

    with TestCase.captureOnCommitCallbacks(execute=True):
        file_publish(file_id=file_id)


def endpoint_client(
    service: str, *, access_key: str = "", secret_key: str = "", token: str | None = None
) -> Any:
    """A boto3 client of the S3 endpoint under test, with seqvault's keys unless given others."""
    if not access_key:
        frozen = s3.client()._request_signer._credentials.get_frozen_credentials()
        access_key, secret_key = frozen.access_key, frozen.secret_key
    return boto3.client(
        service,
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


@pytest.fixture
def sts_role(enforcing_store: StorageCapabilities) -> str:
    """The role seqvault assumes, made through RGW's IAM as docs/operations.md describes: the
    trust policy names seqvault's user, MaxSessionDuration covers the longest session (12 h),
    policy documents are compact JSON. Answers its ARN (RGW's have an empty account)."""
    iam, name = endpoint_client("iam"), "seqvault-uploads"
    compact = s3.compact_json
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam:::user/seqvault"]},
                "Action": ["sts:AssumeRole"],
            }
        ],
    }
    try:
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=compact(trust), MaxSessionDuration=43200
        )["Role"]["Arn"]
    except ClientError:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    permissions = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="s3-all", PolicyDocument=compact(permissions))
    assert json.dumps(arn).startswith('"arn:aws:iam:::role/')
    return str(arn)
