"""Personal API tokens: `Authorization: Bearer sv_…`, shown once, stored as a SHA-256."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_created_token_is_shown_once_and_stored_only_as_its_sha256(submitter: Any) -> None:
    response = submitter.client.post(
        "/api/tokens/", {"name": "laptop", "expires_in_days": 30}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    raw = body["token"]
    assert raw.startswith("sv_")
    assert len(raw) > 40
    row = ApiToken.objects.get(pk=body["id"])
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert row.prefix == raw[:9] == body["prefix"]
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(raw in value or raw[9:] in value for value in stored)
    assert row.expires_at is not None
    assert abs(row.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert row.user == submitter.user
    listed = submitter.client.get("/api/tokens/").json()
    assert body["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)
    assert bearer(raw).get("/api/groups/").status_code == 200
    assert AuditEvent.objects.filter(action="token.created", object_id=str(row.pk)).exists()


def test_a_token_without_lifetime_gets_the_default_one(submitter: Any) -> None:
    response = submitter.client.post("/api/tokens/", {}, format="json")

    assert response.status_code == 201
    expires_at = ApiToken.objects.get(pk=response.json()["id"]).expires_at
    assert expires_at is not None
    expected = timezone.now() + settings.API_TOKEN_DEFAULT_LIFETIME
    assert abs(expires_at - expected) < timedelta(minutes=1)


@pytest.mark.parametrize("days", [0, -1, 3651, "soon"])
def test_an_impossible_lifetime_is_refused_and_creates_nothing(submitter: Any, days: Any) -> None:
    before = ApiToken.objects.count()

    response = submitter.client.post("/api/tokens/", {"expires_in_days": days}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid_input"
    assert ApiToken.objects.count() == before


def test_the_list_holds_only_the_callers_own_tokens(submitter: Any, stranger: Any) -> None:
    mine = token_create(user=submitter.user, name="mine").token
    theirs = token_create(user=stranger.user, name="theirs").token

    ids = [t["id"] for t in submitter.client.get("/api/tokens/").json()]

    assert mine.pk in ids
    assert theirs.pk not in ids
    assert set(ids) == set(submitter.user.api_tokens.values_list("pk", flat=True))


def test_a_revoked_token_is_refused_from_then_on(submitter: Any) -> None:
    issued = token_create(user=submitter.user, name="ci")
    client = bearer(issued.raw)
    assert client.get("/api/groups/").status_code == 200

    response = submitter.client.delete(f"/api/tokens/{issued.token.pk}/")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    refused = client.get("/api/groups/")
    assert refused.status_code == 401
    assert error_code(refused) == "authentication_failed"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    again = submitter.client.delete(f"/api/tokens/{issued.token.pk}/")
    assert again.status_code == 409
    assert error_code(again) == "token_revoked"
    assert AuditEvent.objects.filter(action="token.revoked", actor=submitter.user).count() == 1


def test_an_expired_token_is_refused(submitter: Any) -> None:
    issued = token_create(user=submitter.user, lifetime=timedelta(days=1))
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = bearer(issued.raw).get("/api/groups/")

    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_a_token_of_a_deactivated_user_is_refused(submitter: Any) -> None:
    issued = token_create(user=submitter.user)
    submitter.user.is_active = False
    submitter.user.save(update_fields=["is_active"])

    assert bearer(issued.raw).get("/api/groups/").status_code == 401


def test_another_users_token_id_answers_404_and_stays_valid(submitter: Any, stranger: Any) -> None:
    theirs = token_create(user=stranger.user, name="theirs")

    response = submitter.client.delete(f"/api/tokens/{theirs.token.pk}/")

    assert response.status_code == 404
    assert error_code(response) == "token_not_found"
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None
    assert bearer(theirs.raw).get("/api/groups/").status_code == 200
    missing = submitter.client.delete("/api/tokens/999999999/")
    assert missing.status_code == 404
    assert error_code(missing) == "token_not_found"


def test_use_is_recorded_at_most_once_a_minute(submitter: Any) -> None:
    issued = token_create(user=submitter.user)
    assert issued.token.last_used_at is None

    assert bearer(issued.raw).get("/api/groups/").status_code == 200
    first_use = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert first_use is not None
    assert timezone.now() - first_use < timedelta(minutes=1)

    assert bearer(issued.raw).get("/api/groups/").status_code == 200
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first_use

    an_hour_ago = timezone.now() - timedelta(hours=1)
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=an_hour_ago)
    assert bearer(issued.raw).get("/api/groups/").status_code == 200
    last_used_at = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert last_used_at is not None
    assert last_used_at > an_hour_ago + timedelta(minutes=59)


@pytest.mark.parametrize(
    "header",
    ["Bearer sv_not-a-token", "Bearer sv_", "Bearer", "Bearer sv_a sv_b"],
)
def test_unknown_or_malformed_personal_tokens_are_refused(header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/groups/")

    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_without_credentials_the_token_api_answers_401(anonymous: APIClient) -> None:
    for response in (anonymous.get("/api/tokens/"), anonymous.post("/api/tokens/", {})):
        assert response.status_code == 401
        assert error_code(response) == "not_authenticated"


def _mint(client: APIClient, days: int) -> dict[str, Any]:
    response = client.post("/api/tokens/", {"expires_in_days": days}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_a_token_made_with_a_token_expires_no_later_than_it(make_actor: Any) -> None:
    user = make_actor().user
    parent = token_create(user=user, lifetime=timedelta(days=1))
    child = _mint(bearer(parent.raw), 3650)
    assert child["parent_id"] == parent.token.pk
    assert child["expires_at"] is not None
    stored = ApiToken.objects.get(pk=child["id"])
    assert stored.expires_at == parent.token.expires_at
    # Once the parent's day is over, the child is refused too.
    ApiToken.objects.filter(pk=parent.token.pk).update(expires_at=timezone.now())
    ApiToken.objects.filter(pk=child["id"]).update(expires_at=timezone.now())
    assert bearer(child["token"]).get("/api/groups/").status_code == 401


def test_a_shorter_lifetime_than_the_parents_is_kept(make_actor: Any) -> None:
    parent = token_create(user=make_actor().user, lifetime=timedelta(days=30))
    child = ApiToken.objects.get(pk=_mint(bearer(parent.raw), 2)["id"])
    assert child.expires_at is not None and parent.token.expires_at is not None
    assert child.expires_at < parent.token.expires_at - timedelta(days=27)


def test_revoking_a_token_revokes_every_token_made_with_it(make_actor: Any) -> None:
    user = make_actor().user
    parent = token_create(user=user, lifetime=timedelta(days=1))
    child = _mint(bearer(parent.raw), 3650)
    grandchild = _mint(bearer(child["token"]), 3650)
    unrelated = token_create(user=user)
    for raw in (parent.raw, child["token"], grandchild["token"]):
        assert bearer(raw).get("/api/groups/").status_code == 200

    revoked = bearer(unrelated.raw).delete(f"/api/tokens/{parent.token.pk}/")
    assert revoked.status_code == 200

    for raw in (parent.raw, child["token"], grandchild["token"]):
        response = bearer(raw).get("/api/groups/")
        assert response.status_code == 401
        assert error_code(response) == "authentication_failed"
    assert bearer(unrelated.raw).get("/api/groups/").status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 3
    event = AuditEvent.objects.get(action="token.revoked", object_id=str(parent.token.pk))
    assert sorted(event.details["with"]) == sorted([child["id"], grandchild["id"]])


def test_a_token_made_in_a_signed_in_session_has_no_parent(make_actor: Any) -> None:
    user = make_actor().user
    session = APIClient()
    session.force_login(user)
    response = session.post("/api/tokens/", {"expires_in_days": 3650}, format="json")
    assert response.status_code == 201
    assert response.json()["parent_id"] is None
    stored = ApiToken.objects.get(pk=response.json()["id"])
    assert stored.expires_at is not None
    assert stored.expires_at > timezone.now() + timedelta(days=3600)
