"""`make test`: lint, types, migrations and the whole suite against PostgreSQL, Redis and the
S3 emulator, starting whatever is not running."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from devtools.ceph_rgw import rgw_available, start_rgw
from devtools.s3_emulator import ensure_venv, start_emulator

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICES = {
    "PostgreSQL": (
        ("127.0.0.1", 5432),
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "Redis": (
        ("127.0.0.1", 6379),
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
}


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(address) == 0


def ensure_services() -> None:
    for name, (address, start_command) in SERVICES.items():
        if _listening(address):
            continue
        print(f"{name} is not running; starting it: {start_command}", flush=True)
        subprocess.run(start_command, shell=True, check=False)  # noqa: S602 - fixed command
        deadline = time.monotonic() + 30
        while not _listening(address):
            if time.monotonic() > deadline:
                sys.exit(f"{name} did not start on {address[0]}:{address[1]}.")
            time.sleep(0.5)


def ensure_database(url: str) -> None:
    """The migrations check reads the migration history, so the database must exist."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def step(title: str, command: list[str], env: dict[str, str]) -> None:
    print(f"\n== {title}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    print(f"== {title}: exit {result.returncode} in {time.monotonic() - started:.1f}s", flush=True)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(pytest_args: list[str]) -> int:
    ensure_services()
    ensure_venv(ROOT)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    ensure_database(env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault"))
    step("ruff", [str(BIN / "ruff"), "check", "."], env)
    step("ruff format", [str(BIN / "ruff"), "format", "--check", "."], env)
    step("mypy", [str(BIN / "mypy"), "."], env)
    step(
        "migrations",
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        env,
    )
    state = ROOT / "var" / "test-s3"
    with start_emulator(ROOT, state) as emulator:
        env["S3_ENDPOINT_URL"] = emulator.endpoint_url
        env.setdefault("S3_ACCESS_KEY_ID", "test")
        env.setdefault("S3_SECRET_ACCESS_KEY", "test")
        workers = os.environ.get("PYTEST_WORKERS", "2")
        artifacts = ROOT / "tests" / "artifacts"
        shutil.rmtree(artifacts / "screenshots", ignore_errors=True)
        step("pytest", [sys.executable, "-m", "pytest", "-n", workers, *pytest_args], env)
    run_rgw_subset(env, pytest_args)
    return 0


def run_rgw_subset(env: dict[str, str], pytest_args: list[str]) -> None:
    """The tests marked `rgw` once more, against Ceph RGW: an S3 that enforces bucket and
    session policies (devtools/ceph_rgw.py). Skipped, saying why, where Ceph is not installed
    (.ci/run installs it) or when pytest was given arguments of its own."""
    if pytest_args:
        return
    missing = rgw_available()
    if missing:
        print(f"\n== pytest -m rgw on Ceph RGW: skipped, {missing}", flush=True)
        return
    with start_rgw(ROOT / "var" / "test-rgw") as rgw:
        rgw_env = env | {
            "S3_ENDPOINT_URL": rgw.endpoint_url,
            "S3_ACCESS_KEY_ID": rgw.access_key,
            "S3_SECRET_ACCESS_KEY": rgw.secret_key,
            "S3_OWNER_PRINCIPAL_ARN": rgw.user_arn,
        }
        step(
            "pytest -m rgw on Ceph RGW",
            [sys.executable, "-m", "pytest", "-n", "0", "-m", "rgw"],
            rgw_env,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
