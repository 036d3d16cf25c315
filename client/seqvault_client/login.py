"""`seqvault login`: check a token, or sign in with a username and password to create one."""

from __future__ import annotations

import socket

import requests

from seqvault_client.errors import SeqvaultError
from seqvault_client.http import Api, api_error


def check_token(url: str, token: str) -> None:
    Api(url, token, max_attempts=2).get("tokens/")


def token_from_password(url: str, username: str, password: str) -> str:
    """Sign in through the web login form, then create a personal API token."""
    session = requests.Session()
    login_url = f"{url}/accounts/login/"
    try:
        session.get(login_url, timeout=30).raise_for_status()
        answer = session.post(
            login_url,
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": login_url},
            allow_redirects=False,
            timeout=30,
        )
    except requests.RequestException as exc:
        raise SeqvaultError(f"Cannot reach {url}: {exc}") from exc
    if answer.status_code != 302:
        raise SeqvaultError("Sign-in refused: wrong username or password?")
    created = session.post(
        f"{url}/api/tokens/",
        json={"name": f"seqvault command line on {socket.gethostname()}"},
        headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{url}/"},
        timeout=30,
    )
    if created.status_code != 201:
        raise api_error(created)
    return str(created.json()["token"])
