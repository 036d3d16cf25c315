"""The curators' admin for groups: members added directly, invitations read and revoked."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.models import AuditEvent
from groups.models import GroupInvitation, Membership
from groups.services import group_invitation_send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator_browser() -> Client:
    browser = Client()
    browser.force_login(UserFactory(username="curator", is_staff=True, is_superuser=True))
    return browser


def test_a_curator_adds_a_member_directly(curator_browser: Client, submitter: Any) -> None:
    group = submitter.group
    bob = UserFactory(username="bob")
    admin = group.memberships.get()
    response = curator_browser.post(
        f"/admin/groups/group/{group.pk}/change/",
        {
            "name": group.name,
            "institution": group.institution,
            "contact_email": "",
            "quota_bytes": "",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(admin.pk),
            "memberships-0-group": str(group.pk),
            "memberships-0-user": str(submitter.user.pk),
            "memberships-0-role": "admin",
            "memberships-1-group": str(group.pk),
            "memberships-1-user": str(bob.pk),
            "memberships-1-role": "member",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.get(group=group, user=bob).role == "member"
    assert not GroupInvitation.objects.exists()
    event = AuditEvent.objects.get(action="group.member_added", object_id=str(group.pk))
    assert event.actor is not None and event.actor.username == "curator"


def test_invitations_are_read_only_but_may_be_revoked(
    curator_browser: Client, submitter: Any
) -> None:
    invitation = group_invitation_send(
        actor=submitter.user, group=submitter.group, username="bob", role="member"
    )
    listing = curator_browser.get("/admin/groups/groupinvitation/")
    assert listing.status_code == 200
    assert "bob" in listing.content.decode()
    detail = curator_browser.get(f"/admin/groups/groupinvitation/{invitation.pk}/change/")
    assert detail.status_code == 200
    assert 'name="username"' not in detail.content.decode()  # shown, not editable
    assert curator_browser.get("/admin/groups/groupinvitation/add/").status_code == 403
    deleting = curator_browser.post(f"/admin/groups/groupinvitation/{invitation.pk}/delete/")
    assert deleting.status_code == 403
    changing = curator_browser.post(
        f"/admin/groups/groupinvitation/{invitation.pk}/change/", {"username": "mallory"}
    )
    assert changing.status_code == 403
    invitation.refresh_from_db()
    assert (invitation.username, invitation.status) == ("bob", "pending")

    revoked = curator_browser.post(
        "/admin/groups/groupinvitation/",
        {"action": "revoke", "_selected_action": [str(invitation.pk)]},
    )
    assert revoked.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert AuditEvent.objects.filter(
        action="group.invitation_revoked", actor__username="curator"
    ).exists()
