"""The S3 client and bucket from STORAGES["files"], and S3 errors translated into ours."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import storages

from core import availability
from core.errors import ApplicationError, StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


PUBLIC_TAG = ("public", "true")


def client() -> S3Client:
    return storages["files"].connection.meta.client  # type: ignore[attr-defined]


_variants = threading.local()


def client_with(**config: Any) -> S3Client:
    """The client of STORAGES["files"] with some of its botocore settings replaced (the health
    probe's short timeouts, a copy's long read timeout); one per thread and configuration."""
    base = storages["files"]
    cached: dict[tuple[int, str], Any] = getattr(_variants, "storages", None) or {}
    _variants.storages = cached
    key = (id(base), repr(sorted(config.items())))
    variant = cached.get(key)
    if variant is None or variant[0] is not base:
        storage: Any = copy.copy(base)
        storage.client_config = storage.client_config.merge(Config(**config))
        variant = cached[key] = (base, storage)
    client: S3Client = variant[1].connection.meta.client
    return client


def bucket() -> str:
    return storages["files"].bucket_name  # type: ignore[attr-defined]


def _target() -> str:
    options = settings.STORAGES["files"]["OPTIONS"]
    return f"{options.get('endpoint_url') or 'aws'}|{options.get('bucket_name')}"


def storage_known_down() -> bool:
    return availability.known_down("storage", _target())


def storage_mark(*, up: bool) -> None:
    if up:
        availability.mark_up("storage", _target())
    else:
        availability.mark_down("storage", _target())


def require_available() -> None:
    """503 at once while an outage of the object store is remembered: no URL is handed out
    for an endpoint that does not answer (checked once per request, not per URL)."""
    if storage_known_down():
        raise StorageUnavailableError(
            "The object store is not answering; try again in a few seconds."
        )


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """S3 failures become our error codes; callers never see botocore exceptions. While an
    outage is remembered, calls fail at once; a connection failure or timeout starts one."""
    require_available()
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
        storage_mark(up=False)
        raise StorageUnavailableError(f"The object store is unreachable ({action}).") from exc


def compact_json(document: object) -> str:
    """Policy JSON without spaces: Ceph RGW refuses IAM/STS policies whose spaces botocore sent
    form-encoded as '+' (MalformedPolicyDocument); compact JSON means the same everywhere."""
    return json.dumps(document, separators=(",", ":"))


def is_not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
