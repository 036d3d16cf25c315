"""Tests marked `rgw`: `make test` runs them a second time against Ceph RGW, an S3 server
that enforces bucket policies and STS session policies (devtools/ceph_rgw.py). Privacy tests
need such a server and skip elsewhere; the attack and integrity tests run on every S3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
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


def take_md5_path() -> StorageCapabilities:
    """The integrity path of an S3 that checks no SHA-256 (Ceph RGW), for the configured bucket:
    the probed record where that is the truth, else a record saying so (LocalStack checks
    Content-MD5 as RGW does). In a test's transaction (or a transactional test, whose tables
    are emptied after it) the probed record stays as it was for other tests."""
    found = storage_probe()
    if found.integrity_path == StorageCapabilities.IntegrityPath.MD5:
        return found
    StorageCapabilities.objects.filter(pk=found.pk).update(
        verifies_sha256=False, verifies_part_sha256=False
    )
    return StorageCapabilities.objects.get(pk=found.pk)


@pytest.fixture
def md5_path(db: None) -> StorageCapabilities:
    return take_md5_path()


@dataclass(frozen=True)
class StoreUser:
    uid: str
    arn: str
    access_key: str
    secret_key: str


@pytest.fixture(scope="session")
def other_rgw_user() -> StoreUser:
    """A second user of the Ceph RGW under test, made with `radosgw-admin user create` as
    devtools/ceph_rgw.py makes seqvault's: valid credentials of its own, nothing granted.
    `make test` exports the cluster's CEPH_CONF; elsewhere (LocalStack) this skips."""
    conf = os.environ.get("CEPH_CONF", "")
    if not conf or not os.path.exists(conf) or shutil.which("radosgw-admin") is None:
        pytest.skip("no Ceph RGW cluster under test (CEPH_CONF): its users cannot be made here")
    user = StoreUser(
        uid="other-lab",
        arn="arn:aws:iam:::user/other-lab",
        access_key="other-lab-access-key",
        secret_key="other-lab-secret-key-0123456789",
    )
    admin = ["radosgw-admin", "--conf", conf, "-n", "client.rgw.a"]
    known = subprocess.run(
        [*admin, "user", "info", f"--uid={user.uid}"], capture_output=True, check=False
    )
    if known.returncode != 0:
        create = [*admin, "user", "create", f"--uid={user.uid}", f"--display-name={user.uid}"]
        keys = [f"--access-key={user.access_key}", f"--secret-key={user.secret_key}"]
        subprocess.run(
            [*create, *keys],
            capture_output=True,
            check=True,
            timeout=60,
        )
    return user


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
