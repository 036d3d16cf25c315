"""Invitations: an admin invites a username, its holder accepts or declines. The admin's answer
never depends on whether an account of that name exists."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.models import AuditEvent
from groups.models import GroupInvitation, Membership
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITATION_KEYS = {
    "id",
    "group",
    "group_name",
    "username",
    "role",
    "status",
    "invited_by",
    "created_at",
    "expires_at",
}
# What may differ between two invitations' answers: the rest must be the same.
PER_INVITATION = {"id", "username", "created_at", "expires_at"}


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def invite(admin: Any, username: str, role: str = "member") -> Any:
    assert admin.group is not None
    return admin.client.post(
        f"/api/groups/{admin.group.pk}/members/",
        {"username": username, "role": role},
        format="json",
    )


def accept(actor: Any, invitation_id: str) -> Any:
    return actor.client.post(f"/api/invitations/{invitation_id}/accept")


def decline(actor: Any, invitation_id: str) -> Any:
    return actor.client.post(f"/api/invitations/{invitation_id}/decline")


def normalised(queries: list[dict[str, Any]], *names: str) -> list[str]:
    """The statements without their values: literals, savepoint names and the names given."""
    statements = []
    for query in queries:
        sql = query["sql"]
        for name in names:
            sql = sql.replace(name, "<name>")
        sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
        sql = re.sub(r'"s\d+_x\d+"', "<savepoint>", sql)
        statements.append(sql)
    return statements


def test_an_existing_and_an_unknown_username_get_the_same_answer(
    submitter: Any, make_actor: Any
) -> None:
    bob = make_actor(group=GroupFactory(), username="bob")  # exists, with groups of his own
    submitter.client.get("/api/groups/")  # the token's last use is recorded, once a minute

    with CaptureQueriesContext(connection) as existing_queries:
        existing = invite(submitter, "bob")
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown = invite(submitter, "nobody-by-this-name")

    assert (existing.status_code, unknown.status_code) == (202, 202)
    assert {k: v for k, v in existing.headers.items() if k != "Content-Length"} == {
        k: v for k, v in unknown.headers.items() if k != "Content-Length"
    }
    first, second = existing.json(), unknown.json()
    assert set(first) == set(second) == INVITATION_KEYS
    same = {key: value for key, value in first.items() if key not in PER_INVITATION}
    assert same == {key: value for key, value in second.items() if key not in PER_INVITATION}
    assert same == {
        "group": submitter.group.pk,
        "group_name": submitter.group.name,
        "role": "member",
        "status": "pending",
        "invited_by": submitter.user.username,
    }
    assert (first["username"], second["username"]) == ("bob", "nobody-by-this-name")
    assert uuid.UUID(first["id"]).version == uuid.UUID(second["id"]).version == 4
    # Nothing about the account: the keys above are all there is; no e-mail, no other group.
    assert bob.user.email not in existing.content.decode()
    assert bob.group.name not in existing.content.decode()

    # The same statements ran, in the same order: no query only existing accounts take.
    assert len(existing_queries) >= 5
    assert normalised(existing_queries.captured_queries, "bob") == normalised(
        unknown_queries.captured_queries, "nobody-by-this-name"
    )
    # The same rows: one pending invitation each, no membership, audit rows alike.
    rows = GroupInvitation.objects.filter(group=submitter.group).order_by("username")
    assert [(i.username, i.status, i.role) for i in rows] == [
        ("bob", "pending", "member"),
        ("nobody-by-this-name", "pending", "member"),
    ]
    assert not Membership.objects.filter(group=submitter.group, user=bob.user).exists()
    audits = AuditEvent.objects.filter(action="group.invitation_sent").order_by("id")
    assert [(a.actor_id, a.object_id, set(a.details)) for a in audits] == [
        (submitter.user.pk, str(submitter.group.pk), {"invitation", "username", "role"})
    ] * 2


def test_the_invitation_expires_after_the_configured_days(submitter: Any) -> None:
    with override_settings(GROUP_INVITATION_DAYS=3):
        before = timezone.now()
        body = invite(submitter, "bob").json()
    expires_at = parse_datetime(body["expires_at"])
    created_at = parse_datetime(body["created_at"])
    assert expires_at is not None and created_at is not None
    assert before + timedelta(days=3) <= expires_at <= timezone.now() + timedelta(days=3)
    assert created_at >= before


def test_inviting_again_refreshes_the_pending_invitation(submitter: Any) -> None:
    first = invite(submitter, "bob").json()
    GroupInvitation.objects.filter(pk=first["id"]).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    again = invite(submitter, "bob", role="admin")
    assert again.status_code == 202
    body = again.json()
    assert (body["id"], body["role"], body["status"]) == (first["id"], "admin", "pending")
    invitation = GroupInvitation.objects.get()
    assert invitation.expires_at > timezone.now() + timedelta(days=13)
    assert invitation.role == "admin"
    assert AuditEvent.objects.filter(action="group.invitation_refreshed").count() == 1


def test_an_expired_invitation_is_refreshed_by_inviting_again(
    submitter: Any, make_actor: Any
) -> None:
    bob = make_actor(username="bob")
    first = invite(submitter, "bob").json()
    GroupInvitation.objects.filter(pk=first["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert bob.client.get("/api/invitations/").json()["results"] == []
    assert error_code(accept(bob, first["id"])) == "invitation_not_found"
    assert invite(submitter, "bob").json()["id"] == first["id"]
    assert accept(bob, first["id"]).status_code == 200


def test_the_invitee_lists_their_pending_invitations(submitter: Any, make_actor: Any) -> None:
    bob, carol = make_actor(username="bob"), make_actor(username="carol")
    invitation_id = invite(submitter, "bob", role="admin").json()["id"]
    invite(submitter, "carol")

    listed = bob.client.get("/api/invitations/")
    assert listed.status_code == 200
    page = listed.json()
    assert (page["count"], page["countExact"], page["next"], page["previous"]) == (
        1,
        True,
        None,
        None,
    )
    [item] = page["results"]
    assert set(item) == INVITATION_KEYS
    assert (item["id"], item["group"], item["group_name"], item["role"]) == (
        invitation_id,
        submitter.group.pk,
        submitter.group.name,
        "admin",
    )
    assert [i["username"] for i in carol.client.get("/api/invitations/").json()["results"]] == [
        "carol"
    ]
    # The admin sees their own (none), not the ones they sent.
    assert submitter.client.get("/api/invitations/").json()["results"] == []


def test_the_invitees_list_is_paginated(make_actor: Any) -> None:
    bob = make_actor(username="bob")
    for _ in range(3):
        invite(make_actor(group=GroupFactory()), "bob")
    first = bob.client.get("/api/invitations/?page_size=2").json()
    assert (first["count"], len(first["results"])) == (3, 2)
    assert first["next"] is not None
    second = bob.client.get("/api/invitations/?page_size=2&page=2").json()
    assert len(second["results"]) == 1
    ids = {i["id"] for i in first["results"] + second["results"]}
    assert len(ids) == 3


def test_accepting_makes_a_member_with_the_invited_role(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(username="bob")
    invitation_id = invite(submitter, "bob", role="admin").json()["id"]

    response = accept(bob, invitation_id)

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    membership = Membership.objects.get(group=submitter.group, user=bob.user)
    assert membership.role == "admin"
    invitation = GroupInvitation.objects.get(pk=invitation_id)
    assert invitation.status == "accepted" and invitation.answered_at is not None
    audits = AuditEvent.objects.filter(object_id=str(submitter.group.pk), actor=bob.user).order_by(
        "id"
    )
    assert [(a.action, a.details) for a in audits] == [
        (action, {"invitation": invitation_id, "username": "bob", "role": "admin"})
        for action in ("group.invitation_accepted", "group.member_added")
    ]
    assert [g["name"] for g in bob.client.get("/api/groups/").json()] == [submitter.group.name]
    assert bob.client.get("/api/invitations/").json()["results"] == []


def test_accepting_twice_answers_404_the_second_time(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(username="bob")
    invitation_id = invite(submitter, "bob").json()["id"]
    assert accept(bob, invitation_id).status_code == 200
    again = accept(bob, invitation_id)
    assert again.status_code == 404
    assert error_code(again) == "invitation_not_found"
    assert Membership.objects.filter(group=submitter.group, user=bob.user).count() == 1
    assert AuditEvent.objects.filter(action="group.member_added").count() == 1


def test_nobody_else_answers_someone_elses_invitation(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(username="bob")
    mallory = make_actor(username="mallory")
    curator = make_actor(staff=True)
    invitation_id = invite(submitter, "bob").json()["id"]

    for intruder in (mallory, curator, submitter):
        for answer in (accept, decline):
            refused = answer(intruder, invitation_id)
            assert refused.status_code == 404
            assert error_code(refused) == "invitation_not_found"
    # Refused exactly like an invitation that does not exist.
    unknown = accept(mallory, str(uuid.uuid4()))
    assert (unknown.status_code, error_code(unknown)) == (404, "invitation_not_found")
    assert set(unknown.json()["error"]) == {"code", "message", "details"}

    assert GroupInvitation.objects.get(pk=invitation_id).status == "pending"
    assert not Membership.objects.filter(user__in=[mallory.user, curator.user]).exists()
    assert not AuditEvent.objects.filter(
        action__in=["group.invitation_accepted", "group.invitation_declined"]
    ).exists()
    assert accept(bob, invitation_id).status_code == 200


def test_declining_makes_no_member(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(username="bob")
    invitation_id = invite(submitter, "bob").json()["id"]

    response = decline(bob, invitation_id)

    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert not Membership.objects.filter(group=submitter.group, user=bob.user).exists()
    assert GroupInvitation.objects.get(pk=invitation_id).status == "declined"
    assert AuditEvent.objects.filter(action="group.invitation_declined", actor=bob.user).exists()
    for answer in (accept, decline):
        assert error_code(answer(bob, invitation_id)) == "invitation_not_found"
    # A new invitation may follow a declined one.
    assert invite(submitter, "bob").json()["id"] != invitation_id


def test_the_admin_lists_and_revokes_pending_invitations(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(username="bob")
    invitation_id = invite(submitter, "bob").json()["id"]
    invite(submitter, "carol")
    url = f"/api/groups/{submitter.group.pk}/invitations/"

    listed = submitter.client.get(url).json()
    assert [(i["username"], i["status"]) for i in listed["results"]] == [
        ("bob", "pending"),
        ("carol", "pending"),
    ]
    revoked = submitter.client.delete(f"{url}{invitation_id}")
    assert revoked.status_code == 204
    assert GroupInvitation.objects.get(pk=invitation_id).status == "revoked"
    assert AuditEvent.objects.filter(
        action="group.invitation_revoked", actor=submitter.user
    ).exists()
    assert [i["username"] for i in submitter.client.get(url).json()["results"]] == ["carol"]
    assert error_code(accept(bob, invitation_id)) == "invitation_not_found"
    assert bob.client.get("/api/invitations/").json()["results"] == []
    again = submitter.client.delete(f"{url}{invitation_id}")
    assert (again.status_code, error_code(again)) == (404, "invitation_not_found")


def test_only_admins_and_curators_manage_a_groups_invitations(
    submitter: Any, make_actor: Any, stranger: Any
) -> None:
    invitation_id = invite(submitter, "bob").json()["id"]
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    url = f"/api/groups/{submitter.group.pk}/invitations/"

    for call in (lambda c: c.get(url), lambda c: c.delete(f"{url}{invitation_id}")):
        hidden = call(stranger.client)
        assert (hidden.status_code, error_code(hidden)) == (404, "group_not_found")
        forbidden = call(member.client)
        assert (forbidden.status_code, error_code(forbidden)) == (403, "not_group_admin")
    assert GroupInvitation.objects.get(pk=invitation_id).status == "pending"

    curator = make_actor(staff=True)
    assert curator.client.get(url).json()["count"] == 1
    assert curator.client.delete(f"{url}{invitation_id}").status_code == 204


def test_another_groups_invitation_is_not_found_through_this_group(
    submitter: Any, stranger: Any
) -> None:
    elsewhere = invite(stranger, "bob").json()["id"]
    response = submitter.client.delete(f"/api/groups/{submitter.group.pk}/invitations/{elsewhere}")
    assert (response.status_code, error_code(response)) == (404, "invitation_not_found")
    assert GroupInvitation.objects.get(pk=elsewhere).status == "pending"


def test_a_bad_role_is_refused_and_stores_nothing(submitter: Any) -> None:
    response = invite(submitter, "bob", role="owner")
    assert (response.status_code, error_code(response)) == (400, "invalid_input")
    assert not GroupInvitation.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="group.invitation").exists()


def test_a_member_who_was_added_meanwhile_keeps_their_membership(
    submitter: Any, make_actor: Any
) -> None:
    bob = make_actor(username="bob")
    invitation_id = invite(submitter, "bob", role="admin").json()["id"]
    Membership.objects.create(group=submitter.group, user=bob.user, role="member")

    assert accept(bob, invitation_id).status_code == 200

    assert Membership.objects.get(group=submitter.group, user=bob.user).role == "member"
    assert not AuditEvent.objects.filter(action="group.member_added").exists()


def test_the_invitee_answers_with_a_browser_session(submitter: Any) -> None:
    UserFactory(username="bob")
    invitation_id = invite(submitter, "bob").json()["id"]
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="bob", password="secret-pass-123")
    assert browser.get("/api/invitations/").json()["count"] == 1
    refused = browser.post(f"/api/invitations/{invitation_id}/accept")
    assert refused.status_code == 403
    assert GroupInvitation.objects.get(pk=invitation_id).status == "pending"
    browser.get("/")  # the page sets the CSRF cookie
    accepted = browser.post(
        f"/api/invitations/{invitation_id}/accept",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert accepted.status_code == 200
    assert Membership.objects.filter(group=submitter.group, user__username="bob").exists()


def test_anonymous_callers_are_asked_to_authenticate(anonymous: Any, submitter: Any) -> None:
    invitation_id = invite(submitter, "bob").json()["id"]
    for response in (
        anonymous.get("/api/invitations/"),
        anonymous.post(f"/api/invitations/{invitation_id}/accept"),
        anonymous.post(f"/api/invitations/{invitation_id}/decline"),
    ):
        assert (response.status_code, error_code(response)) == (401, "not_authenticated")
    assert GroupInvitation.objects.get(pk=invitation_id).status == "pending"


@override_settings(RATE_LIMIT_WRITES="2/minute")
def test_inviting_and_answering_count_as_writes(submitter: Any, make_actor: Any) -> None:
    assert invite(submitter, "bob").status_code == 202
    assert invite(submitter, "carol").status_code == 202
    limited = invite(submitter, "dave")
    assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
    assert "Retry-After" in limited.headers
    assert not GroupInvitation.objects.filter(username="dave").exists()
    assert submitter.client.get(f"/api/groups/{submitter.group.pk}/invitations/").status_code == 200

    bob = make_actor(username="bob")
    assert decline(bob, str(uuid.uuid4())).status_code == 404
    assert accept(bob, str(uuid.uuid4())).status_code == 404
    invitation_id = GroupInvitation.objects.get(username="bob").pk
    limited = accept(bob, str(invitation_id))
    assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
    assert GroupInvitation.objects.get(pk=invitation_id).status == "pending"
    revoke_limited = submitter.client.delete(
        f"/api/groups/{submitter.group.pk}/invitations/{invitation_id}"
    )
    assert revoke_limited.status_code == 429
