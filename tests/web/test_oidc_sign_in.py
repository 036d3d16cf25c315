"""Signing in through a real OpenID provider on loopback (devtools/oidc), in the browser.

OIDC is switched on by settings read at start-up, so seqvault runs here under gunicorn with the
provider's OIDC_* variables, sharing this test's database, as an operator would run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection
from playwright.sync_api import Page, expect

from accounts.models import OidcIdentity
from devtools.oidc_provider import Provider, ProviderError, start_provider
from groups.models import Membership
from tests.factories import GroupFactory, MembershipFactory
from tests.web.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_NAME = "Example University"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    db = connection.settings_dict  # the test database, which the server must share
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def oidc_site(tmp_path: Path) -> Iterator[tuple[str, Provider]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        provider = start_provider(redirect_uris=[f"{url}/oidc/callback/"], accounts=[])
    except ProviderError as error:
        pytest.fail(f"The OpenID provider did not start:\n{error}", pytrace=False)
    with provider:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            **provider.seqvault_env(provider_name=PROVIDER_NAME),
        }
        log = tmp_path / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
        ]
        with open(log, "wb") as output:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"seqvault did not start:\n{log.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/accounts/login/", timeout=10).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            yield url, provider
        finally:
            server.terminate()
            server.wait(10)


def test_a_person_signs_in_through_the_institutions_provider(
    page: Page, oidc_site: tuple[str, Provider]
) -> None:
    url, provider = oidc_site
    subject = f"alice-{uuid.uuid4()}"
    provider.set_accounts(
        [{"sub": subject, "login": "alice", "password": "alice-pw", "email": "alice@example.org"}]
    )

    page.goto(f"{url}/groups/")
    expect(page).to_have_url(f"{url}/accounts/login/?next=/groups/")
    screenshot(page, "sign-in-with-provider")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    page.get_by_label("Login").fill("alice")
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{url}/groups/")
    expect(page.get_by_role("button", name="Sign out alice")).to_be_visible()
    identity = OidcIdentity.objects.select_related("user").get(subject=subject)
    assert identity.user.username == "alice"

    # Signed in, she works like anyone else: a group of hers appears once she is in it.
    lab = GroupFactory(name="Alice's Lab")
    MembershipFactory(group=lab, user=identity.user, role=Membership.Role.MEMBER)
    page.reload()
    expect(page.get_by_role("link", name="Alice's Lab")).to_be_visible()
