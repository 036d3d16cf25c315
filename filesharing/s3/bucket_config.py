"""Preparing the bucket: versioning, CORS, the public-read policy, lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from botocore.exceptions import ClientError
from django.conf import settings

from core.errors import StorageUnavailableError
from filesharing.s3.base import (
    PUBLIC_TAG,
    bucket,
    client,
    compact_json,
    is_not_found,
    storage_mark,
    translated_errors,
)

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


# What changes who may read an object: only seqvault's own credentials may do it.
_TAGGING_ACTIONS = [
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
]


# ACL grant headers of a PUT (x-amz-grant-*): `full-control` to AllUsers makes an object public.
_GRANTS = ("read", "write", "read-acp", "write-acp", "full-control")


def _deny_writes_with(sid: str, key: str, values: list[str], objects: str) -> dict[str, Any]:
    """No PUT may carry this header (as the condition key names it): upload URLs with
    unsigned headers (ArtifactDB clients send none) must not make an object public. A positive
    match, so that a PUT without the header is never affected (Ceph RGW evaluates `Null`
    conditions otherwise than AWS)."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": objects,
        "Condition": {"StringLike": {key: values}},
    }


def public_read_policy(bucket_name: str, owner_arns: Sequence[str] = ()) -> dict[str, Any]:
    """Anonymous GET only of object versions tagged public=true (set when their entry is
    released); no write may carry that tag, a public canned ACL or an ACL grant (seqvault tags
    with PutObjectTagging, never on PUT); and, given the ARNs of seqvault's own credentials,
    nobody else may change tags or ACLs (temporary credentials, other users of the store)."""
    objects = f"arn:aws:s3:::{bucket_name}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PublicReadOfReleasedFiles",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket_name}/files/*",
            "Condition": {"StringEquals": {f"s3:ExistingObjectTag/{PUBLIC_TAG[0]}": PUBLIC_TAG[1]}},
        },
        _deny_writes_with(
            "NoWriteCarriesThePublicTag", f"s3:RequestObjectTag/{PUBLIC_TAG[0]}", ["*"], objects
        ),
        _deny_writes_with(
            "NoPublicCannedAcl", "s3:x-amz-acl", ["public-*", "authenticated-read"], objects
        ),
        *(
            _deny_writes_with(
                f"NoGrant{grant.title().replace('-', '')}",
                f"s3:x-amz-grant-{grant}",
                ["*"],
                objects,
            )
            for grant in _GRANTS
        ),
    ]
    if owner_arns:
        statements.append(
            {
                "Sid": "OnlySeqvaultChangesTagsAndAcls",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": list(owner_arns)},
                "Action": _TAGGING_ACTIONS,
                "Resource": objects,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


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
        if web_origins:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={"CORSRules": cors_rules(web_origins)},  # type: ignore[typeddict-item]
            )
            done.append(f"CORS for {', '.join(web_origins)} (exposes ETag)")
        else:  # a rule must name an origin (AWS and RGW refuse one without: MalformedXML)
            s3.delete_bucket_cors(Bucket=name)
            done.append("no CORS: no web origin may send files")
        owners = settings.S3_OWNER_PRINCIPAL_ARN
        s3.put_bucket_policy(Bucket=name, Policy=compact_json(public_read_policy(name, owners)))
        done.append(
            "public read of objects tagged public=true; no write may carry that tag"
            + (f"; tags and ACLs changed only by {', '.join(owners)}" if owners else "")
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": lifecycle_rules()},  # type: ignore[typeddict-item]
        )
        done.append(f"abort multipart uploads after {MULTIPART_ABORT_DAYS} days")
    return done
