"""Rate limits: writes per token, failed sign-ins per account and address, invalid tokens per
address; 429 with Retry-After, and counted in the shared cache so that several web processes
hold one count."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import token_create
from tests.celery_worker import database_url, wait_until
from tests.outages import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's


def create_group(client: Any, n: int) -> Any:
    return client.post("/api/groups/", {"name": f"Lab {uuid.uuid4().hex[:8]} {n}"}, format="json")


def assert_limited(response: Any) -> int:
    assert response.status_code == 429, response.content
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


@pytest.mark.django_db
@override_settings(RATE_LIMIT_WRITES="3/minute")
def test_writes_are_limited_per_token_and_reads_are_not(submitter: Any) -> None:
    for n in range(3):
        assert create_group(submitter.client, n).status_code == 201
    refused = create_group(submitter.client, 3)
    assert_limited(refused)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert submitter.client.get("/api/groups/").status_code == 200

    # another token of the same user has its own count
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=submitter.user).raw}")
    assert create_group(other, 4).status_code == 201


def sign_in(client: Any, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.django_db
@override_settings(RATE_LIMIT_SIGN_IN="3/minute")
def test_failed_web_sign_ins_are_limited_per_account_and_address(make_actor: Any) -> None:
    actor = make_actor()
    other = make_actor()
    browser = APIClient()
    for _ in range(3):
        assert sign_in(browser, actor.user.username, "wrong").status_code == 200
    # the limit holds even for the right password, until its window ends
    refused = sign_in(browser, actor.user.username, PASSWORD)
    assert_limited(refused)
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in browser.session
    # another account from the same address signs in
    assert sign_in(browser, other.user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
@override_settings(RATE_LIMIT_FAILED_AUTH_PER_ADDRESS="3/minute")
def test_invalid_bearer_tokens_are_limited_per_address(submitter: Any) -> None:
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer sv_" + "x" * 40)
    for _ in range(3):
        assert guesser.get("/api/groups/").status_code == 401
    refused = guesser.get("/api/groups/")
    assert_limited(refused)
    assert refused.json()["error"]["code"] == "rate_limited"


@pytest.fixture
def two_web_processes(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """gunicorn with two worker processes, each request on a new connection."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "RATE_LIMIT_WRITES": "4/minute",
        "CACHE_NAMESPACE": uuid.uuid4().hex,
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return requests.get(f"{url}/accounts/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(serving, timeout=120, what="gunicorn to serve")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_the_write_limit_holds_across_web_processes(two_web_processes: str, submitter: Any) -> None:
    token = token_create(user=submitter.user).raw
    answers = []
    for n in range(8):
        with requests.Session() as fresh:  # a new connection: either process may take it
            answers.append(
                fresh.post(
                    f"{two_web_processes}/api/groups/",
                    json={"name": f"Lab across {n}"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            )
    assert [a.status_code for a in answers] == [201] * 4 + [429] * 4
    assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in answers[4:])
