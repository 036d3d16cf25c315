"""`make test`: lint, types, migrations and the whole suite against PostgreSQL, Redis and the
S3 emulator. PostgreSQL and Redis are the configured or running ones, else embedded ones."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devtools.ceph_rgw import rgw_available, start_rgw
from devtools.embedded import EmbeddedPostgres, EmbeddedRedis, listening
from devtools.s3_emulator import ensure_venv, start_emulator

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/seqvault"


def local_services(stack: contextlib.ExitStack, state: Path = ROOT / "var") -> dict[str, str]:
    """PostgreSQL and Redis for the suite: those configured or listening on their usual ports
    (CI starts them), else the embedded ones `make run` uses, with their data under var/."""
    found: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL") and not listening(5432):
        print("No PostgreSQL on 127.0.0.1:5432: starting the embedded one.", flush=True)
        postgres = stack.enter_context(EmbeddedPostgres(state / "test-postgres").start())
        found["DATABASE_URL"] = postgres.url("seqvault")
    if not (os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")) and not listening(
        6379
    ):
        print("No Redis on 127.0.0.1:6379: starting the embedded one.", flush=True)
        redis = stack.enter_context(EmbeddedRedis(state / "test-redis").start())
        found["REDIS_URL"] = found["CELERY_BROKER_URL"] = redis.url(0)
    return found


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
    with contextlib.ExitStack() as stack:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            **local_services(stack),
        }
        ensure_venv(ROOT)
        ensure_database(env.get("DATABASE_URL", DEFAULT_DATABASE_URL))
        step("ruff", [str(BIN / "ruff"), "check", "."], env)
        step("ruff format", [str(BIN / "ruff"), "format", "--check", "."], env)
        step("mypy", [str(BIN / "mypy"), "."], env)
        step(
            "migrations",
            [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
            env,
        )
        emulator = stack.enter_context(start_emulator(ROOT, ROOT / "var" / "test-s3"))
        env["S3_ENDPOINT_URL"] = emulator.endpoint_url
        env.setdefault("S3_ACCESS_KEY_ID", "test")
        env.setdefault("S3_SECRET_ACCESS_KEY", "test")
        workers = os.environ.get("PYTEST_WORKERS", "2")
        shutil.rmtree(ROOT / "tests" / "artifacts" / "screenshots", ignore_errors=True)
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
            # for the tests that add users of their own (radosgw-admin reads it)
            "CEPH_CONF": str(rgw.conf),
        }
        step(
            "pytest -m rgw on Ceph RGW",
            [sys.executable, "-m", "pytest", "-n", "0", "-m", "rgw"],
            rgw_env,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
