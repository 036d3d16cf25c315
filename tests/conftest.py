"""Fixtures shared by every test: real PostgreSQL (pytest-django), the S3 emulator whose URL
`make test` exports as S3_ENDPOINT_URL, and helpers that move real bytes over HTTP."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.test import TestCase
from rest_framework.test import APIClient

from accounts.services import token_create
from filesharing import s3
from groups.models import Group, Membership
from groups.services import user_grant_pipeline_role
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.outages import own_redis, own_s3  # noqa: F401  (fixtures for every test)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("S3_ENDPOINT_URL"):
        raise pytest.UsageError(
            "S3_ENDPOINT_URL is not set. Run the suite with `make test`, which starts the S3 "
            "emulator, or start one with `python -m devtools.s3_emulator start --state-dir "
            "var/s3` and export the endpoint it prints."
        )


@pytest.fixture(scope="session", autouse=True)
def _bucket(django_db_blocker: Any) -> None:
    s3.bucket_setup(web_origins=["http://127.0.0.1:8000"])


@pytest.fixture(autouse=True)
def _own_cache_counts(settings: Any) -> None:
    """Every test counts its rate limits (all tests come from 127.0.0.1) and remembers the
    outages it causes apart from the others."""
    settings.CACHE_NAMESPACE = uuid.uuid4().hex


@dataclass
class Actor:
    """A signed-in caller: its user, a bearer-token API client, and its group."""

    user: Any
    client: APIClient
    group: Group | None = None


def _actor(user: Any, group: Group | None = None) -> Actor:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).raw}")
    return Actor(user=user, client=client, group=group)


@pytest.fixture
def make_actor(db: None) -> Any:
    def make(
        *,
        group: Group | None = None,
        role: str = Membership.Role.ADMIN,
        pipeline: bool = False,
        staff: bool = False,
        username: str | None = None,
    ) -> Actor:
        kwargs = {"username": username} if username else {}
        user = UserFactory(is_staff=staff, **kwargs)
        if pipeline:
            user_grant_pipeline_role(actor=None, user=user)
        if group is not None:
            MembershipFactory(group=group, user=user, role=role)
        return _actor(user, group)

    return make


@pytest.fixture
def submitter(make_actor: Any) -> Actor:
    """An admin of a fresh group."""
    return make_actor(group=GroupFactory())


@pytest.fixture
def stranger(make_actor: Any) -> Actor:
    """A signed-in user of another group."""
    return make_actor(group=GroupFactory())


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_with_ticket(ticket: dict[str, Any], data: bytes) -> requests.Response:
    """PUT the bytes to S3 exactly as a client following the returned URL and headers would."""
    return requests.request(
        ticket["method"], ticket["url"], data=data, headers=ticket["headers"], timeout=30
    )


def confirm(actor: Actor, file_id: str) -> Any:
    """POST confirm and run the verification it queues (tasks run inline in tests)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return actor.client.post(f"/api/files/{file_id}/confirm")


def upload_file(
    actor: Actor, data: bytes, *, name: str = "reads.fastq", declare: bool = True
) -> dict[str, Any]:
    """Request, PUT and confirm one file; returns the file's JSON after confirmation."""
    assert actor.group is not None
    spec: dict[str, Any] = {"name": name}
    if declare:
        spec |= {"size": len(data), "sha256": sha256_hex(data)}
    response = actor.client.post(
        "/api/files/request-uploads", {"groupId": actor.group.pk, "files": [spec]}, format="json"
    )
    assert response.status_code == 200, response.content
    ticket = response.json()[0]
    put = put_with_ticket(ticket, data)
    assert put.status_code == 200, put.text
    confirmed = confirm(actor, ticket["fileId"])
    assert confirmed.status_code in (200, 202), confirmed.content
    return actor.client.get(f"/api/files/{ticket['fileId']}/").json()


@pytest.fixture
def s3_client() -> Iterator[Any]:
    return s3.client()
