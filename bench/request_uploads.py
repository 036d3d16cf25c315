"""Server time of POST /api/files/request-uploads for 1,000 declared files, beside 1,000 bare
boto3 generate_presigned_url calls, in one run against PostgreSQL and the S3 emulator.

    .venv/bin/python -m bench.request_uploads [--calls 7] [--files 1000]

Starts the S3 emulator unless S3_ENDPOINT_URL is set; uses the database `seqvault_bench`
(DATABASE_URL overrides it), which it migrates and fills with throwaway rows.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def s3_endpoint() -> Iterator[None]:
    if os.environ.get("S3_ENDPOINT_URL"):
        yield
        return
    from devtools.s3_emulator import ensure_venv, start_emulator

    ensure_venv(ROOT)
    with start_emulator(ROOT, ROOT / "var" / "bench-s3") as emulator:
        os.environ["S3_ENDPOINT_URL"] = emulator.endpoint_url
        yield


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


def time_request_uploads(calls: int, files: int) -> list[float]:
    from django.test import Client

    from accounts.services import token_create
    from filesharing import s3
    from groups.services import group_create
    from tests.factories import UserFactory

    s3.bucket_setup(web_origins=[])
    user = UserFactory()
    group = group_create(user=user, name=f"bench-{time.time_ns()}")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).raw}")
    timings = []
    for call in range(calls + 1):
        specs = [
            {
                "name": f"run{call}_{i}.fastq.gz",
                "size": 10**9 + i,
                "sha256": hashlib.sha256(f"{call}-{i}".encode()).hexdigest(),
            }
            for i in range(files)
        ]
        body = {"groupId": group.pk, "files": specs}
        started = time.perf_counter()
        response = client.post("/api/files/request-uploads", body, content_type="application/json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content[:500]
        assert len(response.json()) == files
        if call:  # the first call warms connections and caches
            timings.append(elapsed)
    return timings


def time_bare_boto3(files: int, rounds: int) -> list[float]:
    from filesharing import s3

    client, bucket = s3.client(), s3.bucket()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(files):
            client.generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": f"files/{i}"}, ExpiresIn=1800
            )
        timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=7)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with s3_endpoint():
        configure_django()
        ours = statistics.median(time_request_uploads(args.calls, args.files))
        boto = statistics.median(time_bare_boto3(args.files, args.calls))
    per_ours, per_boto = ours / args.files * 1e6, boto / args.files * 1e6
    print(
        f"request-uploads, {args.files} declared files: median {ours * 1000:.1f} ms "
        f"({per_ours:.0f} µs a file, {args.calls} calls)"
    )
    print(
        f"bare boto3 generate_presigned_url x{args.files}: median {boto * 1000:.1f} ms "
        f"({per_boto:.0f} µs a URL)"
    )
    print(f"ratio request-uploads / bare boto3: {ours / boto:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
