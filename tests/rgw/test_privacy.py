"""What an anonymous client can read, proven against an S3 that enforces policies (RGW).
LocalStack enforces none: there these tests skip, saying why."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from django.test import override_settings

from filesharing import s3
from filesharing.models import File
from tests.conftest import upload_file
from tests.rgw.conftest import anonymous_get, endpoint_client, released, unsigned_url

pytestmark = [pytest.mark.rgw, pytest.mark.django_db]
DATA = b"@read1\nACGT\n+\nIIII\n"


def test_unreleased_bytes_answer_403_released_200_and_untagged_again_403(
    submitter: Any, anonymous: Any, enforcing_store: Any
) -> None:
    # given a verified file nobody released
    file = File.objects.get(pk=upload_file(submitter, DATA)["fileId"])
    assert file.status == "verified"
    # then its bytes are refused to an unsigned GET, by key and by version
    assert anonymous_get(unsigned_url(file.key)).status_code == 403
    assert anonymous_get(unsigned_url(file.key, file.s3_version_id)).status_code == 403

    # when it is released, anyone reads it through the public URL the API redirects to
    released(str(file.pk))
    redirect = anonymous.get(f"/api/files/{file.pk}/download")
    assert redirect.status_code == 307
    public = anonymous_get(redirect["Location"])
    assert (public.status_code, public.content) == (200, DATA)

    # when its tag is removed, or set to anything but true, S3 refuses it again
    s3.set_object_tags(key=file.key, tags={}, version_id=file.s3_version_id)
    assert anonymous_get(redirect["Location"]).status_code == 403
    s3.set_object_tags(key=file.key, tags={"public": "false"}, version_id=file.s3_version_id)
    assert anonymous_get(redirect["Location"]).status_code == 403
    # and reconciliation puts back the tag of a file the database calls released
    from submissions.services.release import public_tags_reconcile

    assert str(file.pk) in public_tags_reconcile().tagged
    assert anonymous_get(redirect["Location"]).content == DATA


def test_anonymous_listing_and_put_answer_403(enforcing_store: Any) -> None:
    bucket_url = unsigned_url("").rstrip("/")
    assert requests.get(bucket_url, timeout=30).status_code == 403
    assert requests.get(bucket_url, params={"versions": ""}, timeout=30).status_code == 403
    key = f"files/{uuid.uuid4()}"
    assert requests.put(unsigned_url(key), data=b"x", timeout=30).status_code == 403
    assert s3.head(key=key) is None


def _refused(call: Any, **kwargs: Any) -> int:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return int(caught.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_sts_credentials_write_only_under_their_prefix(enforcing_store: Any, sts_role: str) -> None:
    prefix = f"staging/PRJ{uuid.uuid4().hex[:8]}/1/"
    with override_settings(S3_STS_ROLE_ARN=sts_role):
        credentials = s3.sts_credentials(
            prefix=prefix, lifetime=timedelta(hours=6), session_name="rgw-test"
        )
    limited = endpoint_client(
        "s3",
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        token=credentials.session_token,
    )
    bucket = s3.bucket()
    # under its prefix: write, read back, list
    limited.put_object(Bucket=bucket, Key=f"{prefix}reads.fq", Body=DATA)
    assert limited.get_object(Bucket=bucket, Key=f"{prefix}reads.fq")["Body"].read() == DATA
    listed = limited.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert [item["Key"] for item in listed] == [f"{prefix}reads.fq"]
    # anywhere else: 403, and nothing is stored
    other = f"staging/PRJother/1/{uuid.uuid4()}"
    files_key = f"files/{uuid.uuid4()}"
    for key in (other, files_key):
        assert _refused(limited.put_object, Bucket=bucket, Key=key, Body=b"x") == 403
        assert s3.head(key=key) is None
    assert _refused(limited.list_objects_v2, Bucket=bucket) == 403
    # and a tagged write, even under its prefix, is refused by the bucket policy
    tagged = f"{prefix}tagged"
    assert (
        _refused(limited.put_object, Bucket=bucket, Key=tagged, Body=b"x", Tagging="public=true")
        == 403
    )
    s3.delete_prefix(prefix=prefix)
