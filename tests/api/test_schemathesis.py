"""Schema-driven fuzzing of every operation in the OpenAPI document (schemathesis): whatever
it sends, the answer is never a 5xx, and its status, media type and body are the ones the
document declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


@schemathesis.serializer("application/x-ndjson")
def _ndjson(context: Any, value: Any) -> bytes:
    """One JSON document per line, as the pipeline sends them."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection after each request; in a test that would end the
    test's transaction. Django's test client disconnects the same signal handlers."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(make_actor: Any) -> dict[str, str]:
    """A group admin's token: most operations get past authentication and reach their code."""
    actor = make_actor(group=GroupFactory())
    return {"Authorization": actor.client._credentials["HTTP_AUTHORIZATION"]}


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_keeps_to_the_document(case: Any, bearer: dict[str, str]) -> None:
    # each example in a savepoint of the test's transaction, as each request has its own
    # transaction in production: a statement one example makes fail leaves the next unharmed
    with transaction.atomic():
        case.call_and_validate(headers=bearer, checks=CHECKS)
