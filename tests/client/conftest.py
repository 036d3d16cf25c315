"""The real `seqvault` command, run as a subprocess against a live Django server (pytest-django's
live_server, on a loopback port, with the test database) and the S3 emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from accounts.services import token_create
from filesharing import s3
from tests.conftest import Actor

MIB = 1024**2
# Small parts keep the suite fast: 5 MiB is S3's smallest part.
SMALL_PARTS = ["--part-size", "5MiB", "--multipart-threshold", "8MiB"]


@dataclass
class Cli:
    """Runs `python -m seqvault_client` as a user would run `seqvault`."""

    url: str
    token: str
    config_dir: Path
    group: str
    extra_env: dict[str, str]

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO", "SEQVAULT"))
            and key.lower() not in {"http_proxy", "https_proxy", "no_proxy", "all_proxy"}
        }
        env |= {
            "SEQVAULT_URL": self.url,
            "SEQVAULT_TOKEN": self.token,
            "SEQVAULT_CONFIG_DIR": str(self.config_dir),
            "PYTHONUNBUFFERED": "1",
            # Tests that look at the progress line written when not on a terminal set it.
            "SEQVAULT_PROGRESS_SECONDS": "3600",
        }
        return env | self.extra_env | overrides

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "seqvault_client", *args]

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def server(transactional_db: None, django_db_setup: None, request: pytest.FixtureRequest) -> str:
    # The database is set up before the (session-wide) server starts, so that the server stops
    # before the test database is dropped.
    return str(request.getfixturevalue("live_server").url)


@pytest.fixture
def cli(server: str, submitter: Actor, tmp_path: Path) -> Cli:
    assert submitter.group is not None
    return Cli(
        url=server,
        token=token_create(user=submitter.user, name="cli tests").raw,
        config_dir=tmp_path / "config",
        group=submitter.group.name,
        extra_env={},
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """`--json` output: one object per line, one line per finished file."""
    return [json.loads(line) for line in text.splitlines()]


def stored_bytes(file_id: str) -> bytes:
    """The bytes S3 holds for a file (its latest version)."""
    body = s3.client().get_object(Bucket=s3.bucket(), Key=f"files/{file_id}")["Body"]
    return bytes(body.read())


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def read_until(process: subprocess.Popen[str], marker: str, *, limit: int = 200) -> list[str]:
    """Read the process's stderr line by line until one contains `marker`."""
    assert process.stderr is not None
    lines = []
    for _ in range(limit):
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never appeared in:\n{''.join(lines)}")
