"""Signing in with a local account, and the pages of a group: files, members, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import ApiToken
from filesharing.models import File
from groups.models import Membership
from tests.factories import FileFactory, GroupFactory, MembershipFactory, UserFactory
from tests.web.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_a_local_account_signs_in_and_works_with_its_group(page: Page, site: Site) -> None:
    ada = UserFactory(username="ada")
    UserFactory(username="grace")
    lab = GroupFactory(name="Virology Lab", institution="Example Institute", quota_bytes=10**12)
    MembershipFactory(group=lab, user=ada, role=Membership.Role.ADMIN)
    now = timezone.now()
    for version, size in ((1, 1_000), (2, 5 * 1024**3)):
        FileFactory(
            group=lab,
            uploader=ada,
            name="run1_R1.fastq.gz",
            version=version,
            size=size,
            sha256=SHA,
            status=File.Status.VERIFIED,
            verified_at=now,
        )
    FileFactory(
        group=lab,
        uploader=ada,
        name="run2.bam",
        declared_size=10,
        upload_deadline=now + timedelta(hours=1),
    )

    # A private page sends a signed-out visitor to the sign-in page, and back after it.
    page.goto(site("/groups/"))
    expect(page).to_have_url(site("/accounts/login/?next=/groups/"))
    screenshot(page, "sign-in")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    page.get_by_label("Password").fill("secret-pass-123")
    page.get_by_label("Password").press("Enter")  # the keyboard is enough
    expect(page).to_have_url(site("/groups/"))
    expect(page.get_by_role("button", name="Sign out ada")).to_be_visible()
    screenshot(page, "my-groups")

    # The group's files: newest version of each name, then every version on demand.
    page.get_by_role("link", name="Virology Lab").click()
    files = page.locator("table.files tbody tr")
    expect(files).to_have_count(2)
    expect(files.filter(has_text="run1_R1.fastq.gz")).to_contain_text("5.0 GiB")
    expect(files.filter(has_text="run1_R1.fastq.gz")).to_contain_text("verified")
    expect(files.filter(has_text="run2.bam")).to_contain_text("requested")
    expect(page.locator(".quota")).to_contain_text("of 931.3 GiB used")
    screenshot(page, "group-files")
    page.get_by_label("Show every version").check()
    page.get_by_role("button", name="Filter").click()
    expect(files).to_have_count(3)
    page.get_by_role("link", name="run1_R1.fastq.gz").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("run1_R1.fastq.gz")
    expect(page.locator("dl.facts")).to_contain_text(SHA)
    expect(page.get_by_role("table")).to_contain_text("Every version of run1_R1.fastq.gz")

    # Members: an admin invites people (the same words whether or not the account exists);
    # a refusal is shown on the row it concerns.
    page.goto(site(f"/groups/{lab.pk}/members/"))
    for name in ("nobody-by-this-name", "grace"):
        page.get_by_label("Username").fill(name)
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator(".messages")).to_have_text(
            f"Invitation sent to {name}. If an account of that name exists, they become a "
            "member once they accept it."
        )
    invitations = page.get_by_role("table", name="Pending invitations")
    expect(invitations).to_contain_text("grace")
    expect(invitations).to_contain_text("nobody-by-this-name")
    expect(page.get_by_role("table", name=f"Members of {lab.name}")).not_to_contain_text("grace")
    page.get_by_label("Role of ada").select_option("member")
    page.locator("tr", has_text="ada").get_by_role("button", name="Change role").click()
    expect(page.locator("tr.row-error")).to_contain_text("at least one admin")
    screenshot(page, "group-members")

    # API tokens: created and shown once, listed, revoked.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("sequencer script")
    page.get_by_role("button", name="Create token").click()
    raw = page.get_by_role("textbox", name="New token").input_value()
    assert raw.startswith("sv_")
    token = ApiToken.objects.get(user=ada, name="sequencer script")
    assert raw.startswith(token.prefix) and token.expires_at is not None
    screenshot(page, "api-token-created")
    page.reload()
    expect(page.get_by_role("textbox", name="New token")).to_have_count(0)
    page.get_by_role("button", name="Revoke sequencer script").click()
    expect(page.locator("table.data")).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None

    page.goto(site("/"))
    expect(page.get_by_role("heading", name="Your groups")).to_be_visible()
    screenshot(page, "home-signed-in")
    page.get_by_role("button", name="Sign out ada").click()
    main = page.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link", name="Sign in")).to_be_visible()
    screenshot(page, "home")
