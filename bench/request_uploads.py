"""request-uploads for 1,000 declared files beside 1,000 bare boto3 generate_presigned_url
calls, interleaved in one run against PostgreSQL and the S3 emulator: the server's time
in-process (Django's test client) and end to end over HTTP through gunicorn as production runs
it (4 sync workers, production settings). Every call declares the same 1,000 names, so each
adds a version of every name: the first and last calls show whether the cost stays flat.

    .venv/bin/python -m bench.request_uploads [--rounds 5] [--files 1000]

Starts the S3 emulator unless S3_ENDPOINT_URL is set; uses the database `seqvault_bench`
(DATABASE_URL overrides it), which it migrates and fills with throwaway rows.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def configure_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault_bench")
    os.environ.setdefault("S3_ACCESS_KEY_ID", "test")
    os.environ.setdefault("S3_SECRET_ACCESS_KEY", "test")
    import django
    import psycopg

    url = os.environ["DATABASE_URL"]
    admin_url, name = url.rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_group() -> tuple[Any, str]:
    from accounts.services import token_create
    from filesharing import s3
    from groups.services import group_create
    from tests.factories import UserFactory

    s3.bucket_setup(web_origins=[])
    user = UserFactory()
    group = group_create(user=user, name=f"bench-{time.time_ns()}")
    return group, token_create(user=user).raw


def body(group_id: int, files: int, call: int) -> dict[str, Any]:
    """The same names every call (a new version of each), other content each time."""
    return {
        "groupId": group_id,
        "files": [
            {
                "name": f"run_{i}.fastq.gz",
                "size": 10**9 + i,
                "sha256": hashlib.sha256(f"{call}-{i}".encode()).hexdigest(),
            }
            for i in range(files)
        ],
    }


class InProcess:
    def __init__(self, group: Any, token: str) -> None:
        from django.test import Client

        self.group, self.client = group, Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def __call__(self, files: int, call: int) -> float:
        payload = body(self.group.pk, files, call)
        started = time.perf_counter()
        response = self.client.post(
            "/api/files/request-uploads", payload, content_type="application/json"
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content[:500]
        assert len(response.json()) == files
        return elapsed


class OverHttp:
    def __init__(self, url: str, group: Any, token: str) -> None:
        import requests

        self.url, self.group = url, group
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, files: int, call: int) -> float:
        payload = body(self.group.pk, files, call)
        started = time.perf_counter()
        response = self.session.post(f"{self.url}/api/files/request-uploads", json=payload)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:500]
        assert len(response.json()) == files
        return elapsed


def bare_boto3(files: int) -> float:
    from filesharing import s3

    client, bucket = s3.client(), s3.bucket()
    started = time.perf_counter()
    for i in range(files):
        client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": f"files/{i}"}, ExpiresIn=1800
        )
    return time.perf_counter() - started


def breakdown(group: Any, files: int, rounds: int) -> None:
    """Where a call's time goes: the service's SQL statements one by one (COPY excepted: it
    bypasses the statement hook), and, timed alone, the signing and the File objects."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.db import connection

    from bench.servers import spread
    from core.bulk import new_instances
    from filesharing import s3
    from filesharing.models import File
    from filesharing.services.request_uploads import FileSpec, file_request_uploads

    user = User.objects.order_by("-pk").first()
    phases: dict[str, list[float]] = {}

    def timed(label: str, started: float) -> None:
        phases.setdefault(label, []).append((time.perf_counter() - started) * 1000)

    def statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(sql.split())
            timed("SQL " + words[:60], started)

    for round_number in range(rounds):
        specs = [
            FileSpec(name=item["name"], size=item["size"], sha256=item["sha256"])
            for item in body(group.pk, files, 10_000 + round_number)["files"]
        ]
        started = time.perf_counter()
        with connection.execute_wrapper(statement):
            file_request_uploads(group=group, user=user, specs=specs)
        timed("the whole service call", started)
        started = time.perf_counter()
        for i in range(files):
            s3.presign_put(
                key=f"files/{i}",
                size=10**9,
                sha256_hex="a" * 64,
                content_type=None,
                lifetime=timedelta(minutes=30),
            )
        timed(f"{files} URLs signed, alone", started)
        started = time.perf_counter()
        new_instances(
            File,
            common={"upload_deadline": None},
            rows=({"name": f"n{i}", "version": 2, "declared_size": 1} for i in range(files)),
            related={"group": group, "uploader": user},
        )
        timed(f"{files} File objects made, alone", started)
    print(f"\nwhere a call goes, {rounds} calls, ms min/median/max")
    for label, values in phases.items():
        if len(values) == rounds:
            print(f"{spread(values):>22}  {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.servers import gunicorn, s3_endpoint, server_env, spread

    times: dict[str, list[float]] = {"in-process": [], "http": [], "boto3": []}
    with s3_endpoint():
        configure_django()
        group, token = bench_group()
        env = server_env(os.environ["DATABASE_URL"])
        with gunicorn(
            "request-uploads", "config.wsgi:application", env, ROOT / "var" / "bench-logs"
        ) as server:
            ours, http = InProcess(group, token), OverHttp(server.url, group, token)
            ours(args.files, 0)  # warm connections, caches and the signer
            http(args.files, 1)
            bare_boto3(args.files)
            for round_number in range(args.rounds):
                call = 2 + 2 * round_number
                times["boto3"].append(bare_boto3(args.files))
                times["in-process"].append(ours(args.files, call))
                times["http"].append(http(args.files, call + 1))
                print(
                    f"round {round_number + 1}: boto3 {times['boto3'][-1] * 1000:.1f} ms, "
                    f"in-process {times['in-process'][-1] * 1000:.1f} ms (version {call + 1}), "
                    f"HTTP {times['http'][-1] * 1000:.1f} ms (version {call + 2})",
                    flush=True,
                )
    breakdown(group, args.files, args.rounds)
    print(f"\n{args.files} declared files, {args.rounds} rounds, ms min/median/max")
    for name, values in times.items():
        print(f"{name:<11} {spread([v * 1000 for v in values])}")
    boto = statistics.median(times["boto3"])
    for name in ("in-process", "http"):
        print(f"ratio {name} / bare boto3 (medians): {statistics.median(times[name]) / boto:.2f}")
    half = max(1, args.rounds // 2)
    for name in ("in-process", "http"):
        early = statistics.median(times[name][:half])
        late = statistics.median(times[name][-half:])
        print(f"{name}: later versions / earlier versions (medians): {late / early:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
