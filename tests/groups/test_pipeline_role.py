"""The pipeline role through an API token: held directly or through a Django group, read in
the query that finds the token, so that checking it asks nothing more of the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.services import user_grant_pipeline_role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

UNPROCESSED = "/api/pipeline/unprocessed?numberOfEntries=1&pipelineVersion=1"


def _pipeline_permission() -> Permission:
    return Permission.objects.get(codename="act_as_pipeline", content_type__app_label="groups")


def _answer(actor: Any) -> tuple[int, str | None, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = actor.client.get(UNPROCESSED)
    code = None if response.status_code == 200 else response.json()["error"]["code"]
    return response.status_code, code, [query["sql"] for query in queries.captured_queries]


def _permission_reads(statements: list[str]) -> list[str]:
    """Statements that read permissions on their own, as `has_perm` does."""
    return [sql for sql in statements if sql.startswith('SELECT "django_content_type"')]


def test_a_token_of_a_user_granted_the_role_acts_as_the_pipeline(make_actor: Any) -> None:
    actor = make_actor(pipeline=True)

    status, code, statements = _answer(actor)

    assert (status, code) == (200, None)
    assert _permission_reads(statements) == []


def test_the_role_held_through_a_django_group_counts(make_actor: Any) -> None:
    actor = make_actor()
    operators = AuthGroup.objects.create(name="pipeline operators")
    operators.permissions.add(_pipeline_permission())
    actor.user.groups.add(operators)

    status, code, statements = _answer(actor)

    assert (status, code) == (200, None)
    assert _permission_reads(statements) == []


def test_a_member_without_the_role_is_refused_without_reading_permissions(
    make_actor: Any,
) -> None:
    actor = make_actor()
    AuthGroup.objects.create(name="empty").permissions.add(_pipeline_permission())
    other = UserFactory()
    user_grant_pipeline_role(actor=None, user=other)  # someone else's role is not this one's

    status, code, statements = _answer(actor)

    assert (status, code) == (403, "not_pipeline")
    assert _permission_reads(statements) == []


def test_a_superuser_holds_the_role(make_actor: Any) -> None:
    actor = make_actor()
    actor.user.is_superuser = True
    actor.user.save(update_fields=["is_superuser"])

    status, code, _ = _answer(actor)

    assert (status, code) == (200, None)


def test_the_role_revoked_is_gone_at_the_next_request(make_actor: Any) -> None:
    actor = make_actor(pipeline=True)
    assert _answer(actor)[:2] == (200, None)

    actor.user.user_permissions.remove(_pipeline_permission())

    assert _answer(actor)[:2] == (403, "not_pipeline")
