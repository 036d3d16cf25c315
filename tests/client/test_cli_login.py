"""`seqvault login` and logout; the environment alternative."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from accounts.models import ApiToken
from tests.client.conftest import Cli

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_with_a_token_stores_it_readable_by_the_owner_only(cli: Cli) -> None:
    # when a user signs in with a token, without the environment variables
    done = cli.run(
        "login", "--url", cli.url, "--token", cli.token, SEQVAULT_URL="", SEQVAULT_TOKEN=""
    )

    # then the URL and token are stored with mode 600 and later commands use them
    assert done.returncode == 0, done.stderr
    config = cli.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": cli.url, "token": cli.token}
    listing = cli.run("files", "ls", "-g", cli.group, SEQVAULT_URL="", SEQVAULT_TOKEN="")
    assert listing.returncode == 0, listing.stderr

    # and logout forgets them
    assert cli.run("logout").returncode == 0
    assert not config.exists()
    signed_out = cli.run("files", "ls", "-g", cli.group, SEQVAULT_URL="", SEQVAULT_TOKEN="")
    assert signed_out.returncode == 1
    assert "seqvault login" in signed_out.stderr


def test_login_reads_the_token_from_stdin(cli: Cli) -> None:
    import subprocess

    done = subprocess.run(
        cli.command("login", "--url", cli.url),
        input=cli.token + "\n",
        env=cli.env(SEQVAULT_URL="", SEQVAULT_TOKEN=""),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((cli.config_dir / "config.json").read_text())["token"] == cli.token


def test_a_wrong_token_is_refused_and_nothing_stored(cli: Cli) -> None:
    done = cli.run("login", "--url", cli.url, "--token", "sv_wrong")
    assert done.returncode == 1
    assert "authentication_failed" in done.stderr
    assert not (cli.config_dir / "config.json").exists()


def test_login_with_username_and_password_creates_a_token(cli: Cli, submitter: Any) -> None:
    submitter.user.set_password("correct horse battery")
    submitter.user.save()
    tokens_before = ApiToken.objects.filter(user=submitter.user).count()

    done = cli.run(
        "login",
        "--url",
        cli.url,
        "--username",
        submitter.user.username,
        SEQVAULT_PASSWORD="correct horse battery",
    )

    assert done.returncode == 0, done.stderr
    stored = json.loads((cli.config_dir / "config.json").read_text())
    assert stored["token"].startswith("sv_")
    assert ApiToken.objects.filter(user=submitter.user).count() == tokens_before + 1
    listing = cli.run("files", "ls", "-g", cli.group, SEQVAULT_URL="", SEQVAULT_TOKEN="")
    assert listing.returncode == 0, listing.stderr
    wrong = cli.run(
        "login", "--url", cli.url, "--username", submitter.user.username, SEQVAULT_PASSWORD="no"
    )
    assert wrong.returncode == 1
    assert "Sign-in refused" in wrong.stderr


def test_environment_variables_win_over_the_stored_settings(cli: Cli, tmp_path: Path) -> None:
    cli.run("login", "--url", "http://127.0.0.1:9", "--token", cli.token)  # unreachable
    assert not (cli.config_dir / "config.json").exists()
    (cli.config_dir).mkdir(parents=True, exist_ok=True)
    (cli.config_dir / "config.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9", "token": "sv_old"})
    )
    done = cli.run("files", "ls", "-g", cli.group)  # SEQVAULT_URL / SEQVAULT_TOKEN are set
    assert done.returncode == 0, done.stderr
