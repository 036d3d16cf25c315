"""The S3 client and bucket from STORAGES["files"], and S3 errors translated into ours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import storages

from core.errors import ApplicationError, StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


PUBLIC_TAG = ("public", "true")


def client() -> S3Client:
    return storages["files"].connection.meta.client  # type: ignore[attr-defined]


def bucket() -> str:
    return storages["files"].bucket_name  # type: ignore[attr-defined]


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """S3 failures become our error codes; callers never see botocore exceptions."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
            raise StorageUnavailableError(f"The object store failed to {action}.") from exc
        raise ApplicationError(
            "storage_error", f"The object store refused to {action}: {code}.", status=502
        ) from exc
    except BotoCoreError as exc:
        raise StorageUnavailableError(f"The object store is unreachable ({action}).") from exc


def compact_json(document: object) -> str:
    """Policy JSON without spaces: Ceph RGW refuses IAM/STS policies whose spaces botocore sent
    form-encoded as '+' (MalformedPolicyDocument); compact JSON means the same everywhere."""
    return json.dumps(document, separators=(",", ":"))


def is_not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
