"""Preparing the bucket: versioning, CORS, the public-read policy, lifecycle."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import requests
from botocore.exceptions import ClientError
from django.conf import settings

from core.errors import StorageUnavailableError
from filesharing.s3.base import (
    PUBLIC_TAG,
    bucket,
    client,
    is_not_found,
    storage_mark,
    translated_errors,
)

if TYPE_CHECKING:
    pass


MULTIPART_ABORT_DAYS = 7


def bucket_check() -> None:
    with translated_errors("reach the bucket"):
        client().head_bucket(Bucket=bucket())


def bucket_probe() -> None:
    """The health check: first a plain HTTP request to the endpoint with a short timeout (any
    answer, even 403, means S3 is serving; no client is built for it), then the signed check of
    the bucket. Past any remembered outage; its answer starts or ends that outage."""
    endpoint = client().meta.endpoint_url.rstrip("/")
    try:
        requests.head(f"{endpoint}/", timeout=settings.S3_HEALTH_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        storage_mark(up=False)
        raise StorageUnavailableError("The object store does not answer.") from exc
    storage_mark(up=True)
    bucket_check()


def public_read_policy(bucket_name: str) -> dict[str, Any]:
    """Anonymous GET only of objects tagged public=true (set when their entry is released)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadOfReleasedFiles",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket_name}/files/*",
                "Condition": {
                    "StringEquals": {f"s3:ExistingObjectTag/{PUBLIC_TAG[0]}": PUBLIC_TAG[1]}
                },
            }
        ],
    }


def cors_rules(web_origins: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "AllowedOrigins": web_origins,
            "AllowedMethods": ["GET", "PUT", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag", "x-amz-checksum-sha256", "x-amz-version-id"],
            "MaxAgeSeconds": 3600,
        }
    ]


def lifecycle_rules() -> list[dict[str, Any]]:
    return [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": MULTIPART_ABORT_DAYS},
        }
    ]


def bucket_setup(*, web_origins: list[str]) -> list[str]:
    """Bring the bucket to the state seqvault needs; safe to run any number of times."""
    s3, name = client(), bucket()
    done: list[str] = []
    with translated_errors("prepare the bucket"):
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if not is_not_found(exc) and exc.response["Error"].get("Code") != "NoSuchBucket":
                raise
            region = s3.meta.region_name
            if region and region != "us-east-1":
                s3.create_bucket(
                    Bucket=name,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                s3.create_bucket(Bucket=name)
            done.append(f"created bucket {name}")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        done.append("versioning enabled")
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={"CORSRules": cors_rules(web_origins)},  # type: ignore[typeddict-item]
        )
        done.append(f"CORS for {', '.join(web_origins) or 'no origin'} (exposes ETag)")
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read_policy(name)))
        done.append("public read of objects tagged public=true")
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": lifecycle_rules()},  # type: ignore[typeddict-item]
        )
        done.append(f"abort multipart uploads after {MULTIPART_ABORT_DAYS} days")
    return done
