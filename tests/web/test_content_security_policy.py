"""Every page works under the site's Content-Security-Policy (the `page` fixture fails a test
whose tab reported a violation), and the detector itself sees a violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from filesharing.models import File
from groups.models import Membership
from tests.factories import FileFactory, GroupFactory, MembershipFactory, UserFactory
from tests.web.conftest import Site, csp_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _visit(page: Page, url: str) -> Any:
    response = page.goto(url)
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, (url, policy)
    assert "unsafe-inline" not in policy
    page.wait_for_load_state("networkidle")
    return response


def test_every_page_loads_under_the_policy(page: Page, site: Site) -> None:
    ada = UserFactory(username="ada", is_staff=True, is_superuser=True)
    lab = GroupFactory(name="Virology Lab")
    MembershipFactory(group=lab, user=ada, role=Membership.Role.ADMIN)
    file = FileFactory(
        group=lab, uploader=ada, status=File.Status.VERIFIED, size=3, verified_at=timezone.now()
    )
    for path in ("/", "/accounts/login/", "/released/", "/admin/login/"):
        _visit(page, site(path))
    sign_in(page, site, "ada")
    for path in (
        "/",
        "/groups/",
        f"/groups/{lab.pk}/",
        f"/groups/{lab.pk}/members/",
        f"/groups/{lab.pk}/submit/",
        f"/groups/{lab.pk}/revise/",
        f"/groups/{lab.pk}/entries/",
        f"/files/{file.pk}/",
        "/tokens/",
        "/released/",
        "/admin/",
        "/admin/filesharing/file/",
    ):
        _visit(page, site(path))
    not_found = _visit(page, site("/groups/999999/"))
    assert not_found.status == 404

    # The uploader's scripts run: it marks itself ready.
    _visit(page, site(f"/groups/{lab.pk}/upload/"))
    page.locator("[data-uploader][data-ready]").wait_for(state="attached")

    # Swagger UI is served from this site and renders the operations.
    _visit(page, site("/api/docs/"))
    expect(page.locator(".opblock").first).to_be_visible()


def test_a_blocked_inline_script_is_reported(context: BrowserContext, site: Site) -> None:
    tab = context.new_page()
    violations = csp_violations(tab)
    _visit(tab, site("/accounts/login/"))
    tab.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
        }"""
    )
    tab.wait_for_timeout(200)
    assert tab.evaluate("() => window.injected === undefined")
    assert violations and "script-src" in violations[0]
    tab.close()
