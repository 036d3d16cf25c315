"""The capabilities document says what this instance does, from the settings in force."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_capabilities_list_limits_checksums_lifetimes_and_authentication(anonymous: Any) -> None:
    with override_settings(MAX_FILE_SIZE=10 * 1024**3):
        response = anonymous.get("/api/capabilities")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "service",
        "version",
        "limits",
        "checksums",
        "urlLifetimesSeconds",
        "authentication",
        "interfaces",
    }
    assert body["limits"]["maxFileSize"] == 10 * 1024**3
    assert body["limits"]["multipart"] == {
        "minPartSize": 5 * 1024**2,
        "maxPartSize": 5 * 1024**3,
        "maxParts": 10_000,
        "defaultPartSize": 16 * 1024**2,
        "maxPartUrlsPerRequest": 1000,
        "maxUpfrontPartUrlsPerRequest": 10_000,
        "maxPendingUploadsPerGroup": 20,
        "staleAfterSeconds": 72 * 3600,
    }
    assert body["checksums"]["recorded"] == ["sha-256", "md5"]
    assert body["urlLifetimesSeconds"] == {
        "upload": 1800,
        "multipartPart": 900,
        "upfrontMultipartPart": 12 * 3600,
        "download": 300,
        "pipelineRead": 1800,
    }
    kinds = [(method["type"], method["name"]) for method in body["authentication"]]
    assert ("bearer", "personal API token") in kinds
    assert body["interfaces"]["drs"] == "http://testserver/ga4gh/drs/v1/"
    assert body["interfaces"]["loculus"] == "http://testserver/loculus/"
