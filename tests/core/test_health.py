from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_health_reports_every_part(anonymous: Any) -> None:
    response = anonymous.get("/api/health/")
    assert response.status_code == 200
    body = response.json()
    capabilities = body.pop("storageCapabilities")
    assert body == {"status": "ok", "database": "ok", "storage": "ok", "broker": "inline"}
    # what the suite's S3 (LocalStack, or Ceph RGW for the rgw subset) was found to check
    assert capabilities["integrityPath"] in ("sha256", "md5")
    assert capabilities["verifiesMd5"] is True
    assert set(capabilities) == {
        "integrityPath",
        "verifiesSha256",
        "verifiesPartSha256",
        "verifiesMd5",
        "honoursIfNoneMatch",
        "enforcesBucketPolicy",
        "reportsTagCount",
        "probedAt",
    }


def test_health_checks_the_broker_when_tasks_are_queued(anonymous: Any) -> None:
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        response = anonymous.get("/api/health/")
    assert response.json()["broker"] == "ok"


def test_health_answers_503_naming_the_broker_when_it_is_down(anonymous: Any) -> None:
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    ):
        response = anonymous.get("/api/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"].startswith("down")
    assert response.json()["storage"] == "ok"


def test_health_answers_503_naming_storage_when_s3_is_down(anonymous: Any) -> None:
    storages = {**settings.STORAGES}
    storages["files"] = {
        **storages["files"],
        "OPTIONS": {**storages["files"]["OPTIONS"], "endpoint_url": "http://127.0.0.1:1"},
    }
    with override_settings(STORAGES=storages):
        response = anonymous.get("/api/health/")
    assert response.status_code == 503
    assert response.json()["storage"].startswith("down")
    assert response.json()["database"] == "ok"
