"""Joining a group in the browser: an admin invites, the invitee accepts on their start page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from groups.models import GroupInvitation, Membership
from groups.services import group_invitation_send
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.web.conftest import Site, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_invited_user_accepts_and_the_group_is_theirs(page: Page, site: Site) -> None:
    ada = UserFactory(username="ada")
    bob = UserFactory(username="bob")
    lab = GroupFactory(name="Virology Lab", institution="Example Institute")
    MembershipFactory(group=lab, user=ada, role=Membership.Role.ADMIN)

    # Ada invites bob from the members page.
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{lab.pk}/members/"))
    page.get_by_label("Username").fill("bob")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".messages")).to_contain_text("Invitation sent to bob.")
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text("bob")
    screenshot(page, "invitation-sent")
    page.get_by_role("button", name="Sign out ada").click()

    # Bob signs in: the invitation waits on his start page; he is not a member yet.
    sign_in(page, site, "bob")
    page.goto(site("/"))
    invitations = page.get_by_role("region", name="Invitations")
    expect(invitations).to_contain_text("Virology Lab")
    expect(invitations).to_contain_text("invited by ada")
    expect(page.get_by_role("heading", name="Your groups")).to_have_count(0)
    assert not Membership.objects.filter(group=lab, user=bob).exists()
    screenshot(page, "invitation-waiting")

    page.get_by_role("button", name="Accept the invitation to Virology Lab").click()

    expect(page.locator(".messages")).to_contain_text("You joined Virology Lab as member.")
    expect(page.get_by_role("region", name="Invitations")).to_have_count(0)
    your_groups = page.get_by_role("region", name="Your groups")
    expect(your_groups.get_by_role("link", name="Virology Lab")).to_be_visible()
    page.get_by_role("link", name="My groups").click()
    expect(page.get_by_role("link", name="Virology Lab")).to_be_visible()
    assert Membership.objects.get(group=lab, user=bob).role == "member"
    assert GroupInvitation.objects.get(group=lab, username="bob").status == "accepted"
    screenshot(page, "invitation-accepted")


def test_a_declined_invitation_leaves_the_start_page(page: Page, site: Site) -> None:
    ada = UserFactory(username="ada")
    UserFactory(username="bob")
    lab = GroupFactory(name="Virology Lab")
    MembershipFactory(group=lab, user=ada, role=Membership.Role.ADMIN)
    group_invitation_send(actor=ada, group=lab, username="bob", role=Membership.Role.MEMBER)

    sign_in(page, site, "bob")
    page.goto(site("/"))
    page.get_by_role("button", name="Decline the invitation to Virology Lab").click()

    expect(page.locator(".messages")).to_contain_text("Invitation to Virology Lab declined.")
    expect(page.get_by_role("region", name="Invitations")).to_have_count(0)
    assert not Membership.objects.filter(group=lab, user__username="bob").exists()
    assert GroupInvitation.objects.get(group=lab).status == "declined"
