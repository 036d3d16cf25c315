"""What a third-party client needs to know before it uploads or downloads: limits, checksum
algorithms, URL lifetimes, authentication methods and the interfaces served. Read from the
settings in force, so the document always says what this instance does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from filesharing import s3
from filesharing.services.multipart.parts import MAX_PART_URLS_PER_REQUEST
from filesharing.services.multipart.upfront import MAX_UPFRONT_PART_URLS


def _seconds(value: Any) -> int:
    return int(value.total_seconds())


def _authentication(request: HttpRequest) -> list[dict[str, Any]]:
    methods: list[dict[str, Any]] = [
        {
            "type": "bearer",
            "name": "personal API token",
            "header": "Authorization: Bearer sv_…",
            "obtain": request.build_absolute_uri("/tokens/"),
            "defaultLifetimeDays": settings.API_TOKEN_DEFAULT_LIFETIME.days,
        },
        {"type": "session", "name": "browser session (CSRF token required for writes)"},
    ]
    if settings.OIDC_ENABLED:
        methods.append(
            {
                "type": "bearer",
                "name": "OIDC access token",
                "header": "Authorization: Bearer <access token>",
                "tokenEndpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
                "clientId": settings.OIDC_RP_CLIENT_ID,
            }
        )
    return methods


def capabilities_document(request: HttpRequest) -> dict[str, Any]:
    return {
        "service": "seqvault",
        "version": settings.SPECTACULAR_SETTINGS["VERSION"],
        "limits": {
            "maxFileSize": settings.MAX_FILE_SIZE,
            "maxFilesPerRequest": settings.MAX_FILES_PER_REQUEST,
            "multipart": {
                "minPartSize": s3.MULTIPART_MIN_PART_SIZE,
                "maxPartSize": s3.MULTIPART_MAX_PART_SIZE,
                "maxParts": s3.MULTIPART_MAX_PARTS,
                "defaultPartSize": settings.MULTIPART_DEFAULT_PART_SIZE,
                "maxPartUrlsPerRequest": MAX_PART_URLS_PER_REQUEST,
                "maxUpfrontPartUrlsPerRequest": MAX_UPFRONT_PART_URLS,
                "maxPendingUploadsPerGroup": settings.MAX_PENDING_UPLOADS_PER_GROUP,
                "staleAfterSeconds": _seconds(settings.MULTIPART_STALE_AFTER),
            },
            "uploadDeadlineSeconds": _seconds(settings.UPLOAD_DEADLINE),
            "groupQuotas": "per group, counting uploads in progress (413 quota_exceeded)",
        },
        "checksums": {
            "declared": ["sha256"],
            "parts": ["sha256"],
            "recorded": ["sha-256", "md5"],
            "encodings": ["hex", "base64"],
            "verification": (
                "a file is verified once S3 checked its declared SHA-256, or seqvault hashed "
                "the whole object; uploads that declare nothing are always hashed"
            ),
        },
        "urlLifetimesSeconds": {
            "upload": _seconds(settings.UPLOAD_URL_LIFETIME),
            "multipartPart": _seconds(settings.MULTIPART_PART_URL_LIFETIME),
            "upfrontMultipartPart": _seconds(settings.UPFRONT_PART_URL_LIFETIME),
            "download": _seconds(settings.DOWNLOAD_URL_LIFETIME),
            "pipelineRead": _seconds(settings.PIPELINE_READ_URL_LIFETIME),
        },
        "authentication": _authentication(request),
        "interfaces": {
            "seqvault": request.build_absolute_uri("/api/"),
            "openapi": request.build_absolute_uri("/api/schema/"),
            "loculus": request.build_absolute_uri("/loculus/"),
            "artifactdb": request.build_absolute_uri("/api/"),
            "drs": request.build_absolute_uri("/ga4gh/drs/v1/"),
        },
    }
