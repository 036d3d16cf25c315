"""OpenID Connect sign-in and provider access tokens, end to end.

A real OpenID provider (devtools/oidc, the npm package oidc-provider) runs on loopback, and
seqvault runs under gunicorn with the OIDC_* variables set, exactly as an operator turns OIDC on;
both share this test run's database. A `requests` session plays the browser: it follows the
redirects and fills in the provider's sign-in form.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlparse

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from accounts.models import OidcIdentity
from accounts.oidc import OidcBearerAuthentication
from accounts.services import token_create
from core.models import AuditEvent
from devtools.oidc_provider import Provider, ProviderError, start_provider
from filesharing.models import File
from groups.api.views import GroupListCreateView
from groups.models import Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the server sees only committed rows

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "/oidc/callback/"
PROVIDER_NAME = "Example Login"
User = get_user_model()


# --------------------------------------------------------------------------- the two servers


@dataclass
class Site:
    """seqvault served over HTTP with OIDC on, and the provider it trusts."""

    url: str
    provider: Provider

    def api(self, path: str, token: str, method: str = "GET", **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def site(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # seqvault's socket is opened here and handed to gunicorn, so its port, which the provider
    # must know as the redirect URI's, cannot be taken by anyone in between.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        provider = start_provider(redirect_uris=[f"http://127.0.0.1:{port}{CALLBACK}"], accounts=[])
    except ProviderError as error:
        listener.close()
        pytest.fail(f"The OpenID provider for these tests did not start:\n{error}", pytrace=False)
    with provider:
        log = tmp_path_factory.mktemp("oidc-site") / "gunicorn.log"
        server = _start_seqvault(listener, provider, log)
        try:
            yield Site(f"http://127.0.0.1:{port}", provider)
        finally:
            _stop(server)


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _test_database_url() -> str:
    db = connection.settings_dict  # pytest-django has switched it to the test database
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def _start_seqvault(
    listener: socket.socket, provider: Provider, log_path: Path
) -> subprocess.Popen[bytes]:
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(),
        "DATABASE_CONN_MAX_AGE": "0",  # no idle connection may keep the test database busy
        **provider.seqvault_env(provider_name=PROVIDER_NAME),
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"fd://{listener.fileno()}", "--workers", "1", "--threads", "4"),
    ]
    with listener, open(log_path, "wb") as log:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
            start_new_session=True,  # _stop() ends the master and its worker together
        )
    try:
        _wait_until_serving(server, f"http://127.0.0.1:{port}/accounts/login/", log_path)
    except BaseException:
        _stop(server)
        raise
    return server


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    # The first request waits for the worker to import Django: slow on a busy machine.
    deadline = time.monotonic() + 120
    while server.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=30).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"seqvault did not start under gunicorn:\n{log_path.read_text()[-3000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


# --------------------------------------------------------------------------- the browser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value") or ""
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")


def parse_page(page: requests.Response) -> _Forms:
    parser = _Forms()
    parser.feed(page.text)
    return parser


def submit_form(
    browser: requests.Session, page: requests.Response, **fields: str
) -> requests.Response:
    """Fill in and post the page's only form, as a person clicking its button would."""
    forms = parse_page(page).forms
    assert len(forms) == 1, page.text
    data = {**forms[0]["fields"], **fields}
    return browser.post(urljoin(page.url, forms[0]["action"]), data=data, timeout=30)


def make_account(login: str, *, email: str | None = None) -> dict[str, str]:
    return {
        "sub": f"{login}-{uuid.uuid4()}",
        "login": login,
        "password": f"{login}-password",
        "email": email or f"{login}@example.org",
        "name": login.title(),
    }


def sign_in(
    site: Site, account: dict[str, str], *, start: str = "/oidc/authenticate/"
) -> tuple[requests.Session, requests.Response]:
    """Start at seqvault, sign in at the provider, come back; returns the browser and last page."""
    browser = requests.Session()
    form = browser.get(f"{site.url}{start}", timeout=30)
    assert form.url.startswith(f"{site.provider.issuer}/interaction/"), form.url
    landed = submit_form(browser, form, login=account["login"], password=account["password"])
    return browser, landed


def user_access_token(site: Site, account: dict[str, str]) -> str:
    """An access token for the account, got the way a command-line client would: the
    authorization-code flow with PKCE, the code taken from the redirect to seqvault's callback."""
    provider = site.provider
    endpoints = provider.configuration()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect_uri = f"{site.url}{CALLBACK}"
    browser = requests.Session()
    form = browser.get(
        endpoints["authorization_endpoint"],
        params={
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email profile",
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
        timeout=30,
    )
    fields = parse_page(form).forms[0]
    response = browser.post(
        urljoin(form.url, fields["action"]),
        data={"login": account["login"], "password": account["password"]},
        allow_redirects=False,
        timeout=30,
    )
    location = urljoin(form.url, response.headers["Location"])
    while not location.startswith(redirect_uri):
        response = browser.get(location, allow_redirects=False, timeout=30)
        location = urljoin(location, response.headers["Location"])
    code = parse_qs(urlparse(location).query)["code"][0]
    tokens = requests.post(
        endpoints["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        },
        timeout=30,
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


# --------------------------------------------------------------------------- browser sign-in


def test_the_sign_in_page_offers_the_provider(site: Site) -> None:
    page = requests.get(f"{site.url}/accounts/login/", timeout=30)

    assert page.status_code == 200
    assert "/oidc/authenticate/" in parse_page(page).links
    assert f"Sign in with {PROVIDER_NAME}" in page.text


def test_a_first_sign_in_creates_a_user_linked_to_the_subject(site: Site) -> None:
    alice = make_account("alice")
    site.provider.set_accounts([alice])
    users_before = User.objects.count()

    browser, landed = sign_in(site, alice)

    assert landed.status_code == 200
    assert landed.url.startswith(f"{site.url}/")  # back at seqvault, on its start page
    assert "Sign out alice" in landed.text
    assert browser.get(f"{site.url}/api/groups/", timeout=30).status_code == 200
    identity = OidcIdentity.objects.select_related("user").get(subject=alice["sub"])
    assert identity.user.username == "alice"
    assert identity.user.email == alice["email"]
    assert not identity.user.has_usable_password()
    assert User.objects.count() == users_before + 1
    assert AuditEvent.objects.filter(
        action="user.created", object_id=str(identity.user.pk), details__via="oidc"
    ).exists()


def test_signing_in_again_with_a_changed_email_keeps_the_same_user(site: Site) -> None:
    alice = make_account("alice")
    site.provider.set_accounts([alice])
    sign_in(site, alice)
    first = OidcIdentity.objects.get(subject=alice["sub"]).user
    users_before = User.objects.count()

    site.provider.set_accounts([{**alice, "email": "alice@new-institute.example"}])
    _, landed = sign_in(site, alice)

    assert "Sign out alice" in landed.text
    again = OidcIdentity.objects.get(subject=alice["sub"]).user
    assert again.pk == first.pk
    assert again.email == "alice@new-institute.example"
    assert User.objects.count() == users_before


def test_the_same_email_under_another_subject_is_another_user(site: Site) -> None:
    shared = "lab-shared@example.org"
    local = UserFactory(username="localuser", email=shared)  # signs in with a password
    first, second = make_account("first", email=shared), make_account("second", email=shared)
    site.provider.set_accounts([first, second])

    sign_in(site, first)
    sign_in(site, second)

    one = OidcIdentity.objects.get(subject=first["sub"]).user
    two = OidcIdentity.objects.get(subject=second["sub"]).user
    assert len({one.pk, two.pk, local.pk}) == 3
    assert User.objects.filter(email=shared).count() == 3
    assert not OidcIdentity.objects.filter(user=local).exists()


def test_a_username_taken_locally_gets_a_suffix(site: Site) -> None:
    UserFactory(username="carol")
    carol = make_account("carol")
    site.provider.set_accounts([carol])

    _, landed = sign_in(site, carol)

    assert OidcIdentity.objects.get(subject=carol["sub"]).user.username == "carol-2"
    assert "Sign out carol-2" in landed.text


def test_next_brings_the_user_back_where_they_started(site: Site) -> None:
    dave = make_account("dave")
    site.provider.set_accounts([dave])

    _, landed = sign_in(site, dave, start="/oidc/authenticate/?next=/api/tokens/")

    assert landed.url == f"{site.url}/api/tokens/"
    assert landed.status_code == 200
    assert landed.headers["Content-Type"].startswith("application/json")


def test_a_wrong_password_signs_nobody_in(site: Site) -> None:
    erin = make_account("erin")
    site.provider.set_accounts([erin])

    browser, page = sign_in(site, {**erin, "password": "not-her-password"})

    assert page.url.startswith(f"{site.provider.issuer}/interaction/")
    assert "Unknown login or wrong password." in page.text
    assert browser.get(f"{site.url}/api/groups/", timeout=30).status_code == 401
    assert not OidcIdentity.objects.exists()


def test_cancelling_at_the_provider_returns_to_the_sign_in_page_signed_out(site: Site) -> None:
    browser = requests.Session()
    form = browser.get(f"{site.url}/oidc/authenticate/", timeout=30)
    cancel = next(link for link in parse_page(form).links if link.endswith("/abort"))

    landed = browser.get(urljoin(form.url, cancel), timeout=30)

    assert landed.url == f"{site.url}/accounts/login/"
    assert "Sign out" not in landed.text
    assert browser.get(f"{site.url}/api/groups/", timeout=30).status_code == 401
    assert not OidcIdentity.objects.exists()


def test_a_callback_this_browser_did_not_start_signs_nobody_in(site: Site) -> None:
    frank = make_account("frank")
    site.provider.set_accounts([frank])
    attacker = requests.Session()
    form = attacker.get(f"{site.url}/oidc/authenticate/", timeout=30)
    fields = parse_page(form).forms[0]
    response = attacker.post(
        urljoin(form.url, fields["action"]),
        data={"login": frank["login"], "password": frank["password"]},
        timeout=30,
        allow_redirects=False,
    )
    location = urljoin(form.url, response.headers["Location"])
    while not location.startswith(f"{site.url}{CALLBACK}"):
        response = attacker.get(location, allow_redirects=False, timeout=30)
        location = urljoin(location, response.headers["Location"])

    victim = requests.Session()  # login CSRF: the attacker's callback URL, another browser
    landed = victim.get(location, timeout=30)

    assert landed.url == f"{site.url}/accounts/login/"
    assert victim.get(f"{site.url}/api/groups/", timeout=30).status_code == 401
    assert not OidcIdentity.objects.exists()


# --------------------------------------------------------------------------- bearer tokens


def test_a_provider_access_token_acts_as_its_user_on_the_api(site: Site) -> None:
    grace = make_account("grace")
    site.provider.set_accounts([grace])
    user = UserFactory(username="grace")
    OidcIdentity.objects.create(user=user, subject=grace["sub"])
    group = GroupFactory(name="Grace Lab")
    MembershipFactory(group=group, user=user, role=Membership.Role.MEMBER)
    GroupFactory(name="Someone Else's Lab")
    token = user_access_token(site, grace)

    listed = site.api("/api/groups/", token)
    created = site.api("/api/groups/", token, "POST", json={"name": "Grace New Lab"})

    assert listed.status_code == 200
    assert [g["name"] for g in listed.json()] == ["Grace Lab"]
    assert created.status_code == 201, created.text
    membership = Membership.objects.get(group_id=created.json()["id"])
    assert (membership.user_id, membership.role) == (user.pk, Membership.Role.ADMIN)
    assert OidcIdentity.objects.count() == 1


def test_a_provider_access_token_requests_uploads_as_loculus_pipeline_does(site: Site) -> None:
    kim = make_account("kim")
    site.provider.set_accounts([kim])
    user = UserFactory(username="kim")
    OidcIdentity.objects.create(user=user, subject=kim["sub"])
    group = GroupFactory(name="Kim Lab")
    MembershipFactory(group=group, user=user, role=Membership.Role.MEMBER)
    token = user_access_token(site, kim)

    path = f"/files/request-upload?groupId={group.pk}&numberFiles=1"
    response = site.api(path, token, "POST")
    refused = site.api(path, "garbage", "POST")

    assert response.status_code == 200, response.text
    [item] = response.json()
    assert set(item) == {"fileId", "url", "headers"}
    assert File.objects.get(pk=item["fileId"]).uploader == user
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["status"] == 401


def test_a_first_api_call_with_a_provider_token_creates_the_user(site: Site) -> None:
    heidi = make_account("heidi")
    site.provider.set_accounts([heidi])
    token = user_access_token(site, heidi)

    response = site.api("/api/groups/", token)

    assert response.status_code == 200
    assert response.json() == []
    identity = OidcIdentity.objects.select_related("user").get(subject=heidi["sub"])
    assert identity.user.email == heidi["email"]


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 43])
def test_a_token_the_provider_does_not_know_is_refused(site: Site, token: str) -> None:
    response = site.api("/api/groups/", token)

    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not OidcIdentity.objects.exists()


def test_a_token_revoked_at_the_provider_is_refused_at_once(site: Site) -> None:
    ivan = make_account("ivan")
    site.provider.set_accounts([ivan])
    token = user_access_token(site, ivan)
    assert site.api("/api/groups/", token).status_code == 200

    revoked = requests.post(
        site.provider.configuration()["revocation_endpoint"],
        data={
            "token": token,
            "client_id": site.provider.client_id,
            "client_secret": site.provider.client_secret,
        },
        timeout=30,
    )

    assert revoked.status_code == 200
    response = site.api("/api/groups/", token)
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_a_deactivated_user_is_refused_despite_a_valid_provider_token(site: Site) -> None:
    judy = make_account("judy")
    site.provider.set_accounts([judy])
    token = user_access_token(site, judy)
    assert site.api("/api/groups/", token).status_code == 200

    User.objects.filter(oidc_identity__subject=judy["sub"]).update(is_active=False)

    response = site.api("/api/groups/", token)
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_personal_tokens_still_work_when_oidc_is_on(site: Site) -> None:
    user = UserFactory(username="mallory")
    group = GroupFactory(name="Token Lab")
    MembershipFactory(group=group, user=user)
    issued = token_create(user=user)

    response = site.api("/api/groups/", issued.raw)
    unknown = site.api("/api/groups/", "sv_" + "x" * 43)

    assert response.status_code == 200
    assert [g["name"] for g in response.json()] == ["Token Lab"]
    assert unknown.status_code == 401
    assert error_code(unknown) == "authentication_failed"
    assert not OidcIdentity.objects.exists()


def test_an_unreachable_provider_answers_503_not_a_server_error() -> None:
    closed = f"http://127.0.0.1:{_free_loopback_port()}"  # nothing listens there
    view = GroupListCreateView.as_view(authentication_classes=[OidcBearerAuthentication])
    request = APIRequestFactory().get("/api/groups/", HTTP_AUTHORIZATION="Bearer some-token")

    with override_settings(
        OIDC_RP_CLIENT_ID="seqvault",
        OIDC_RP_CLIENT_SECRET="secret",
        OIDC_OP_TOKEN_ENDPOINT=f"{closed}/token",
        OIDC_OP_USER_ENDPOINT=f"{closed}/me",
        OIDC_OP_JWKS_ENDPOINT=f"{closed}/jwks",
        OIDC_DRF_AUTH_BACKEND="accounts.oidc.SubjectOIDCBackend",
    ):
        response = view(request)

    assert response.status_code == 503
    assert response.data["error"]["code"] == "identity_provider_unavailable"


def test_incomplete_oidc_settings_stop_the_start_up() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "OIDC_RP_CLIENT_ID": "seqvault",
        "OIDC_OP_TOKEN_ENDPOINT": "https://login.example.org/token",
    }
    for name in [n for n in env if n.startswith("OIDC_OP_") and n != "OIDC_OP_TOKEN_ENDPOINT"]:
        del env[name]
    env.pop("OIDC_RP_CLIENT_SECRET", None)

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert (
        "OIDC_RP_CLIENT_SECRET, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_USER_ENDPOINT, "
        "OIDC_OP_JWKS_ENDPOINT are not." in result.stderr
    )
