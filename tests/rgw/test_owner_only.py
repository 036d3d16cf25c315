"""Only seqvault's own credentials change tags and ACLs (the bucket policy's owner rule, set up
from S3_OWNER_PRINCIPAL_ARN), proven on Ceph RGW against a second user of the same store whom
the bucket grants everything else, as an operator might grant another service."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import override_settings

from devtools.ceph_rgw import USER_ARN
from filesharing import s3
from filesharing.models import File
from tests.conftest import upload_file
from tests.rgw.conftest import (
    StoreUser,
    anonymous_get,
    endpoint_client,
    released,
    unsigned_url,
)

pytestmark = [pytest.mark.rgw, pytest.mark.django_db]
DATA = b"@read1\nACGTACGT\n+\nIIIIIIII\n"
SUITE_ORIGINS = ["http://127.0.0.1:8000"]  # as tests/conftest.py prepares the bucket


@pytest.fixture
def bucket_policy_restored(enforcing_store: Any) -> Iterator[None]:
    """The bucket's policy put back as the suite prepared it, whatever the test set up."""
    owners = django_settings.S3_OWNER_PRINCIPAL_ARN
    yield
    with override_settings(S3_OWNER_PRINCIPAL_ARN=owners):
        s3.bucket_setup(web_origins=SUITE_ORIGINS)


def setup_bucket(owners: list[str]) -> str:
    out = io.StringIO()
    with override_settings(S3_OWNER_PRINCIPAL_ARN=owners, WEB_ORIGINS=SUITE_ORIGINS):
        call_command("setup_bucket", stdout=out)
    return out.getvalue()


def grant_everything(user: StoreUser) -> None:
    """Add to the bucket's policy an Allow of every S3 action to `user` (a grant the owner
    rule must outweigh: an explicit Deny wins over any Allow)."""
    bucket, admin = s3.bucket(), endpoint_client("s3")
    policy = json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "AnotherServiceOfTheStore",
            "Effect": "Allow",
            "Principal": {"AWS": [user.arn]},
            "Action": ["s3:*"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        }
    )
    admin.put_bucket_policy(Bucket=bucket, Policy=s3.compact_json(policy))


def status_of(call: Any, **kwargs: Any) -> int:
    try:
        answer = call(**kwargs)
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return int(answer["ResponseMetadata"]["HTTPStatusCode"])


def tagging(**tags: str) -> dict[str, Any]:
    return {"TagSet": [{"Key": key, "Value": value} for key, value in tags.items()]}


def test_without_the_owner_rule_another_user_granted_the_bucket_can_make_bytes_public(
    submitter: Any, other_rgw_user: StoreUser, bucket_policy_restored: None
) -> None:
    # given the bucket prepared without S3_OWNER_PRINCIPAL_ARN: setup_bucket warns
    assert "WARNING: S3_OWNER_PRINCIPAL_ARN is not set" in setup_bucket([])
    grant_everything(other_rgw_user)
    file = File.objects.get(pk=upload_file(submitter, DATA)["fileId"])
    other = endpoint_client(
        "s3", access_key=other_rgw_user.access_key, secret_key=other_rgw_user.secret_key
    )
    where = {"Bucket": s3.bucket(), "Key": file.key, "VersionId": file.s3_version_id}
    assert anonymous_get(unsigned_url(file.key, file.s3_version_id)).status_code == 403

    # when the other user tags the object and gives it a public-read ACL, RGW lets it
    assert status_of(other.put_object_tagging, **where, Tagging=tagging(owner="other")) == 200
    assert status_of(other.put_object_acl, **where, ACL="public-read") == 200

    # then unreleased bytes are readable by anyone: what the owner rule is there to prevent
    leaked = anonymous_get(unsigned_url(file.key, file.s3_version_id))
    assert (leaked.status_code, leaked.content) == (200, DATA)
    s3.client().put_object_acl(**where, ACL="private")
    assert anonymous_get(unsigned_url(file.key, file.s3_version_id)).status_code == 403


def test_with_the_owner_rule_only_seqvault_changes_tags_and_acls(
    submitter: Any, anonymous: Any, other_rgw_user: StoreUser, bucket_policy_restored: None
) -> None:
    # given the bucket prepared with seqvault's own user ARN as RGW spells it (empty account)
    out = setup_bucket([USER_ARN])
    assert f"tags and ACLs changed only by {USER_ARN}" in out
    assert "WARNING" not in out
    # and another user of the store whom the bucket grants every action
    grant_everything(other_rgw_user)
    file = File.objects.get(pk=upload_file(submitter, DATA)["fileId"])
    other = endpoint_client(
        "s3", access_key=other_rgw_user.access_key, secret_key=other_rgw_user.secret_key
    )
    bucket = s3.bucket()
    current = {"Bucket": bucket, "Key": file.key}
    verified = {**current, "VersionId": file.s3_version_id}
    # the grant is real: it reads the bytes (the owner rule denies tags and ACLs alone)
    assert other.get_object(**verified)["Body"].read() == DATA

    # then it may neither tag, untag nor change the ACL of the object or its version
    for where in (current, verified):
        assert status_of(other.put_object_tagging, **where, Tagging=tagging(public="true")) == 403
        assert status_of(other.put_object_tagging, **where, Tagging=tagging(owner="x")) == 403
        assert status_of(other.delete_object_tagging, **where) == 403
        assert status_of(other.put_object_acl, **where, ACL="public-read") == 403
    # nor write an object carrying the public tag (refused to everyone: seqvault tags by
    # PutObjectTagging, never on PUT)
    key = f"files/{uuid.uuid4()}"
    put = {"Bucket": bucket, "Key": key, "Body": b"x"}
    assert status_of(other.put_object, **put, Tagging="public=true") == 403
    assert status_of(s3.client().put_object, **put, Tagging="public=true") == 403
    assert s3.head(key=key) is None
    # (what RGW Pacific does not refuse: a PUT by a user granted s3:PutObject that carries
    # another tag; it checks no s3:PutObjectTagging for it, as AWS does. Only public=true makes
    # bytes readable, and verification removes every tag.)
    assert status_of(other.put_object, **put, Tagging="owner=x") == 200
    s3.delete_object_versions(key=key)
    # and nothing changed: untagged, private
    assert s3.object_tags(key=file.key, version_id=file.s3_version_id) == {}
    assert anonymous_get(unsigned_url(file.key, file.s3_version_id)).status_code == 403

    # while seqvault's own credentials still tag: the release makes the bytes public
    released(str(file.pk))
    redirect = anonymous.get(f"/api/files/{file.pk}/download")
    public = anonymous_get(redirect["Location"])
    assert (public.status_code, public.content) == (200, DATA)
