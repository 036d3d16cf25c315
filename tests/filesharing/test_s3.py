"""filesharing.s3: our SigV4 signer, bucket preparation and error translation."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import storages

from core.errors import ApplicationError, StorageUnavailableError
from filesharing import s3


def test_our_signature_equals_botocore_for_the_same_request() -> None:
    # given a URL that botocore signed
    theirs = s3.client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": s3.bucket(),
            "Key": "files/abc",
            "VersionId": "v1",
            "ResponseContentDisposition": 'attachment; filename="a.fq"',
        },
        ExpiresIn=300,
    )
    signed_at = datetime.strptime(theirs.split("X-Amz-Date=")[1][:16], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=UTC
    )
    # when our signer signs the same request at the same instant
    ours = s3.presign_get(
        key="files/abc",
        lifetime=timedelta(minutes=5),
        version_id="v1",
        content_disposition='attachment; filename="a.fq"',
        now=signed_at,
    )
    # then the signatures agree
    assert _signature(ours.url) == _signature(theirs)


def test_a_thread_hands_out_urls_s3_accepts_without_a_client_of_its_own() -> None:
    # given the signer in use (as a web worker builds it at boot)
    s3.warm_up()
    data = b"ACGT" * 256
    found: dict[str, Any] = {}

    def in_another_thread() -> None:
        url = s3.presign_put(
            key=f"files/{uuid.uuid4()}",
            size=len(data),
            sha256_hex=hashlib.sha256(data).hexdigest(),
            content_type=None,
            lifetime=timedelta(minutes=5),
        )
        found["url"] = url
        found["client"] = getattr(storages["files"]._connections, "connection", None)

    # when another thread (a web server's request thread) signs an upload
    worker = threading.Thread(target=in_another_thread)
    worker.start()
    worker.join(30)

    # then it made no S3 client, and S3 takes the bytes through its URL
    assert found["client"] is None
    sent = requests.put(found["url"].url, data=data, headers=found["url"].headers, timeout=30)
    assert sent.status_code == 200, sent.text


def _signature(url: str) -> str:
    return url.rsplit("X-Amz-Signature=", 1)[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 64, "a" * 64),
        (
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ],
)
def test_sha256_accepted_in_hex_or_base64(value: str, expected: str) -> None:
    assert s3.sha256_hex_from_any(value) == expected


@pytest.mark.parametrize("value", ["", "xyz", "A" * 63, "QUJD"])
def test_other_digests_are_refused(value: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        s3.sha256_hex_from_any(value)
    assert caught.value.code == "invalid_sha256"


def test_setup_bucket_is_idempotent_and_configures_everything(s3_client: Any) -> None:
    first = s3.bucket_setup(web_origins=["https://seqvault.example.org"])
    second = s3.bucket_setup(web_origins=["https://seqvault.example.org"])
    assert "created bucket" not in " ".join(second)
    assert first[-4:] == second[-4:]
    name = s3.bucket()
    assert s3_client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    [rule] = s3_client.get_bucket_cors(Bucket=name)["CORSRules"]
    assert rule["AllowedOrigins"] == ["https://seqvault.example.org"]
    assert "ETag" in rule["ExposeHeaders"]
    assert set(rule["AllowedMethods"]) == {"GET", "PUT", "HEAD"}
    policy = json.loads(s3_client.get_bucket_policy(Bucket=name)["Policy"])
    statement, *denials = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == "*"
    assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statement["Resource"] == f"arn:aws:s3:::{name}/files/*"
    assert statement["Condition"] == {"StringEquals": {"s3:ExistingObjectTag/public": "true"}}
    # no PUT may make an object public by itself: a public tag, canned ACL or grant
    assert {d["Effect"] for d in denials} == {"Deny"}
    assert {d["Action"] for d in denials} == {"s3:PutObject"}
    refused = {key: values for d in denials for key, values in d["Condition"]["StringLike"].items()}
    assert refused == {
        "s3:RequestObjectTag/public": ["*"],
        "s3:x-amz-acl": ["public-*", "authenticated-read"],
        "s3:x-amz-grant-read": ["*"],
        "s3:x-amz-grant-write": ["*"],
        "s3:x-amz-grant-read-acp": ["*"],
        "s3:x-amz-grant-write-acp": ["*"],
        "s3:x-amz-grant-full-control": ["*"],
    }
    [lifecycle] = s3_client.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert lifecycle["Status"] == "Enabled"
    s3.bucket_setup(web_origins=["http://127.0.0.1:8000"])


@pytest.mark.rgw  # on Ceph RGW too: it refuses a CORS rule that names no origin
def test_setup_bucket_without_web_origins_leaves_no_cors(s3_client: Any) -> None:
    done = s3.bucket_setup(web_origins=[])
    assert "no CORS: no web origin may send files" in done
    with pytest.raises(ClientError) as caught:
        s3_client.get_bucket_cors(Bucket=s3.bucket())
    assert caught.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    again = s3.bucket_setup(web_origins=["http://127.0.0.1:8000"])
    assert "CORS for http://127.0.0.1:8000 (exposes ETag)" in again
    [rule] = s3_client.get_bucket_cors(Bucket=s3.bucket())["CORSRules"]
    assert rule["AllowedOrigins"] == ["http://127.0.0.1:8000"]


def test_unreachable_store_becomes_storage_unavailable() -> None:
    with (
        mock.patch.object(
            s3.client(), "head_object", side_effect=EndpointConnectionError(endpoint_url="http://x")
        ),
        pytest.raises(StorageUnavailableError) as caught,
    ):
        s3.head(key="files/x")
    assert caught.value.code == "storage_unavailable"
    assert caught.value.status_code == 503


def test_s3_server_errors_become_storage_unavailable_and_refusals_storage_error() -> None:
    server_error = ClientError(
        {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "HeadObject",
    )
    refused = ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "HeadObject",
    )
    with (
        mock.patch.object(s3.client(), "head_object", side_effect=server_error),
        pytest.raises(StorageUnavailableError),
    ):
        s3.head(key="files/x")
    with (
        mock.patch.object(s3.client(), "head_object", side_effect=refused),
        pytest.raises(ApplicationError) as caught,
    ):
        s3.head(key="files/x")
    assert caught.value.code == "storage_error"


def test_missing_object_is_none() -> None:
    assert s3.head(key="files/does-not-exist") is None


def test_tags_round_trip(s3_client: Any) -> None:
    s3_client.put_object(Bucket=s3.bucket(), Key="files/tagged", Body=b"x")
    s3.set_object_tags(key="files/tagged", tags={"public": "true"})
    assert s3.object_tags(key="files/tagged") == {"public": "true"}


@pytest.mark.django_db
def test_urls_are_signed_for_the_clients_endpoint_when_it_differs(submitter: Any) -> None:
    # given clients that reach S3 as "localhost" while the server uses 127.0.0.1
    from django.conf import settings
    from django.test import override_settings

    public = settings.S3_ENDPOINT_URL.replace("127.0.0.1", "localhost")
    key = f"files/{uuid.uuid4()}"
    with override_settings(S3_PRESIGN_ENDPOINT_URL=public):
        upload = s3.presign_put(
            key=key,
            size=3,
            sha256_hex=None,
            content_type=None,
            lifetime=timedelta(minutes=1),
        )
    # then the URL names the clients' host and S3 accepts the signature
    assert upload.url.startswith(f"{public}/{s3.bucket()}/{key}?")
    import requests

    assert (
        requests.put(upload.url, data=b"abc", headers=upload.headers, timeout=10).status_code == 200
    )
