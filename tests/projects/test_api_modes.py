"""Upload modes besides presigned PUTs: multipart (through the files API) and sts-credentials
(temporary credentials for one staging prefix; the emulator offers no STS)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from moto import mock_aws

from filesharing import s3
from filesharing.models import File
from projects.models import Project
from tests.conftest import sha256_hex
from tests.filesharing.multipart_helpers import MIB, PART, chunks, make_data, send_parts
from tests.filesharing.multipart_helpers import complete as complete_multipart
from tests.projects.conftest import REPORT, completed, error_code, report_metadata, start, started

pytestmark = pytest.mark.django_db


def test_multipart_mode_hands_out_file_ids_for_the_multipart_api(submitter: Any) -> None:
    data = make_data(PART + MIB)
    answer = started(
        submitter,
        [{"filename": "run.bam", "size": len(data), "sha256": sha256_hex(data)}],
        mode="multipart",
    )
    assert answer["presigned_urls"] == {}
    target = answer["multipart"]["run.bam"]
    assert target["multipart_uploads_url"].endswith(
        f"/api/files/{target['file_id']}/multipart_uploads"
    )

    # the client uploads the parts through the GHGA endpoints, then completes the project
    upload = submitter.client.post(
        f"/api/files/{target['file_id']}/multipart_uploads", {"partSize": PART}, format="json"
    ).json()
    etags = send_parts(submitter, upload["uploadId"], dict(enumerate(chunks(data), start=1)))
    assert complete_multipart(submitter, upload["uploadId"], etags).status_code == 204
    completed(submitter, answer)

    file = File.objects.get(pk=target["file_id"])
    assert (file.status, file.size, file.sha256) == ("verified", len(data), sha256_hex(data))


def test_multipart_mode_is_refused_to_an_uploader_outside_the_group(
    submitter: Any, uploader: Any
) -> None:
    response = start(
        uploader,
        [{"filename": "run.bam", "size": 10}],
        path="/api/projects/PRJ000042/version/1/upload",
        group=submitter.group.name,
        mode="multipart",
    )
    assert response.status_code == 403
    assert error_code(response) == "multipart_not_allowed"


# --- temporary credentials ----------------------------------------------------------------


def test_session_policy_allows_only_the_version_prefix() -> None:
    policy = s3.sts_session_policy(bucket_name="seqvault", prefix="staging/PRJ1/3/abc/")
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SessionObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": "arn:aws:s3:::seqvault/staging/PRJ1/3/abc/*",
            },
            {
                "Sid": "SessionListing",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::seqvault",
                "Condition": {"StringLike": {"s3:prefix": ["staging/PRJ1/3/abc/*"]}},
            },
        ],
    }


@override_settings(S3_STS_ROLE_ARN="arn:aws:iam::123456789012:role/uploads")
def test_assume_role_request_sends_that_policy_for_at_most_12_hours() -> None:
    params = s3.sts_assume_role_params(
        bucket_name="seqvault",
        prefix="staging/P/1/x/",
        lifetime=timedelta(days=5),
        session_name="seqvault-upload-1",
    )
    assert params["RoleArn"] == "arn:aws:iam::123456789012:role/uploads"
    assert params["RoleSessionName"] == "seqvault-upload-1"
    assert params["DurationSeconds"] == 12 * 3600
    assert json.loads(params["Policy"]) == s3.sts_session_policy(
        bucket_name="seqvault", prefix="staging/P/1/x/"
    )
    short = s3.sts_assume_role_params(
        bucket_name="b", prefix="p/", lifetime=timedelta(seconds=30), session_name="s1"
    )
    assert short["DurationSeconds"] == 15 * 60  # the least STS grants


def test_sts_mode_where_the_endpoint_has_no_sts_answers_501_and_stores_nothing(
    submitter: Any,
) -> None:
    # the S3 emulator runs S3 alone: its STS answers 501 (service not enabled)
    response = start(submitter, ["report.txt"], mode="sts-credentials")
    assert response.status_code == 501
    assert error_code(response) == "sts_unavailable"
    assert not Project.objects.exists()
    assert not File.objects.exists()
    with override_settings(S3_STS_ENABLED=False):
        assert error_code(start(submitter, ["a"], mode="sts-credentials")) == "sts_unavailable"


@override_settings(S3_STS_ENDPOINT_URL=None)
def test_sts_mode_with_sts_stages_then_copies_into_the_files(submitter: Any) -> None:
    # given an endpoint that offers STS (moto's, in process, for AssumeRole alone)
    with mock_aws():
        answer = started(
            submitter,
            ["report.txt", "report.txt.json"],
            mode="sts-credentials",
            completed_by="in 5 minutes",
        )
    sts = answer["sts"]
    assert answer["presigned_urls"] == {}
    assert set(sts["credentials"]) == {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    }
    assert sts["bucket"] == s3.bucket()
    assert sts["prefix"].startswith(f"staging/{answer['project_id']}/1/")

    # when the client writes under the prefix (the emulator does not check the temporary keys:
    # written with the server's own) and completes
    staged = {"report.txt": REPORT, "report.txt.json": report_metadata()}
    for name, data in staged.items():
        s3.client().put_object(Bucket=sts["bucket"], Key=sts["prefix"] + name, Body=data)
    completed(submitter, answer)

    # then each file holds its bytes at its own key, and the staging prefix is empty
    for name, data in staged.items():
        file = File.objects.get(pk=answer["file_ids"][name])
        assert (file.status, file.sha256) == ("verified", sha256_hex(data))
        assert s3.read_object(key=file.key, max_bytes=10_000) == data
    assert s3.list_keys(prefix=sts["prefix"]) == {}
