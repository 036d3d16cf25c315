"""Groups: creation, visibility, members and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import AuditEvent
from groups.models import Group, GroupInvitation, Membership
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def test_creator_becomes_admin_and_sees_the_group(make_actor: Any) -> None:
    alice = make_actor()
    response = alice.client.post(
        "/api/groups/", {"name": "Virology Lab", "institution": "Uni"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["members"] == [{"username": alice.user.username, "role": "admin"}]
    assert body["quota_bytes"] is None
    assert body["used_bytes"] == 0
    assert [g["name"] for g in alice.client.get("/api/groups/").json()] == ["Virology Lab"]
    assert AuditEvent.objects.filter(action="group.created", object_id=str(body["id"])).exists()


def test_ones_own_groups_have_distinct_names(make_actor: Any) -> None:
    alice = make_actor()
    alice.client.post("/api/groups/", {"name": "Lab"}, format="json")
    response = alice.client.post("/api/groups/", {"name": "Lab"}, format="json")
    assert response.status_code == 409
    assert error_code(response) == "group_name_taken"
    assert Group.objects.filter(name="Lab").count() == 1


def test_another_groups_name_is_not_revealed_by_a_refusal(make_actor: Any) -> None:
    alice, bob = make_actor(), make_actor()
    assert alice.client.post("/api/groups/", {"name": "Lab"}, format="json").status_code == 201
    # Bob learns nothing about Alice's group: his group of the same name is simply created.
    response = bob.client.post("/api/groups/", {"name": "Lab"}, format="json")
    assert response.status_code == 201
    assert Group.objects.filter(name="Lab").count() == 2
    assert [g["name"] for g in bob.client.get("/api/groups/").json()] == ["Lab"]


@pytest.mark.parametrize("name", ["", " ", "<script>", "a" * 151])
def test_bad_group_names_answer_400(make_actor: Any, name: str) -> None:
    response = make_actor().client.post("/api/groups/", {"name": name}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_input"
    assert Group.objects.count() == 0


def test_list_shows_only_my_groups(submitter: Any, stranger: Any) -> None:
    names = [g["name"] for g in submitter.client.get("/api/groups/").json()]
    assert names == [submitter.group.name]


def test_foreign_group_detail_answers_404(submitter: Any, stranger: Any) -> None:
    response = stranger.client.get(f"/api/groups/{submitter.group.pk}/")
    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


def test_an_invited_user_who_accepts_is_a_member_until_removed(
    submitter: Any, make_actor: Any
) -> None:
    bob = make_actor(username="bob")
    invited = submitter.client.post(
        f"/api/groups/{submitter.group.pk}/members/",
        {"username": "bob", "role": "member"},
        format="json",
    )
    assert invited.status_code == 202
    assert not Membership.objects.filter(group=submitter.group, user=bob.user).exists()
    accepted = bob.client.post(f"/api/invitations/{invited.json()['id']}/accept")
    assert accepted.status_code == 200
    assert Membership.objects.get(group=submitter.group, user=bob.user).role == "member"
    removed = submitter.client.delete(f"/api/groups/{submitter.group.pk}/members/bob/")
    assert removed.status_code == 204
    assert not Membership.objects.filter(group=submitter.group, user=bob.user).exists()
    actions = list(
        AuditEvent.objects.filter(object_id=str(submitter.group.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-4:] == [
        "group.invitation_sent",
        "group.invitation_accepted",
        "group.member_added",
        "group.member_removed",
    ]


def test_a_members_username_changes_their_role(submitter: Any, make_actor: Any) -> None:
    bob = make_actor(group=submitter.group, role=Membership.Role.MEMBER, username="bob")
    response = submitter.client.post(
        f"/api/groups/{submitter.group.pk}/members/",
        {"username": "bob", "role": "admin"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"username": "bob", "role": "admin"}
    assert Membership.objects.get(group=submitter.group, user=bob.user).role == "admin"
    assert not GroupInvitation.objects.exists()
    assert AuditEvent.objects.filter(action="group.member_role_changed").count() == 1


def test_plain_member_may_not_manage_members(submitter: Any, make_actor: Any) -> None:
    member = make_actor(group=submitter.group, role=Membership.Role.MEMBER)
    UserFactory(username="carol")
    response = member.client.post(
        f"/api/groups/{submitter.group.pk}/members/", {"username": "carol"}, format="json"
    )
    assert response.status_code == 403
    assert error_code(response) == "not_group_admin"
    assert not GroupInvitation.objects.exists()


def test_removing_a_non_member_and_a_name_of_nobody_answer_alike(submitter: Any) -> None:
    UserFactory(username="carol")
    answers = [
        submitter.client.delete(f"/api/groups/{submitter.group.pk}/members/{name}/")
        for name in ("carol", "nobody")
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert [error_code(a) for a in answers] == ["member_not_found", "member_not_found"]


def test_last_admin_cannot_leave(submitter: Any) -> None:
    response = submitter.client.delete(
        f"/api/groups/{submitter.group.pk}/members/{submitter.user.username}/"
    )
    assert response.status_code == 409
    assert error_code(response) == "last_admin"


def test_only_staff_set_quotas(submitter: Any, make_actor: Any) -> None:
    refused = submitter.client.patch(
        f"/api/groups/{submitter.group.pk}/", {"quota_bytes": 10}, format="json"
    )
    assert refused.status_code == 403
    assert error_code(refused) == "not_curator"
    curator = make_actor(staff=True)
    accepted = curator.client.patch(
        f"/api/groups/{submitter.group.pk}/", {"quota_bytes": 10}, format="json"
    )
    assert accepted.status_code == 200
    assert accepted.json()["quota_bytes"] == 10
    negative = curator.client.patch(
        f"/api/groups/{submitter.group.pk}/", {"quota_bytes": -1}, format="json"
    )
    assert negative.status_code == 400


def test_curators_see_every_group(make_actor: Any) -> None:
    GroupFactory(name="A"), GroupFactory(name="B")
    curator = make_actor(staff=True)
    assert {g["name"] for g in curator.client.get("/api/groups/").json()} >= {"A", "B"}


def test_session_login_with_csrf(submitter: Any) -> None:
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    submitter.user.set_password("pw-123456789")
    submitter.user.save()
    assert browser.login(username=submitter.user.username, password="pw-123456789")
    assert browser.get("/api/groups/").status_code == 200
    refused = browser.post("/api/groups/", {"name": "New"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
