"""Release throughput: one approve of entries whose outputs are 10,000 files, published by a
Celery worker with 4 processes (the release split into chunks they share), beside a bare
16-thread boto3 `put_object_tagging` pool over the same objects on the same endpoint.

    .venv/bin/python -m bench.release_throughput [--files 10000] [--rounds 3] [--concurrency 4]

Uses DATABASE_URL (default: the database `seqvault_bench_release`, created and migrated here)
and Redis at CELERY_BROKER_URL. Each round returns the files to unreleased first (a benchmark
database only: released is forever everywhere else), then times approve until the database
says every file is released.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.servers import ROOT, print_spreads, s3_endpoint, server_env, stop
from devtools.run_tests import ensure_database

ENTRIES = 100


def configure(database_url: str) -> None:
    ensure_database(database_url)
    os.environ.update(server_env(database_url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_files(count: int) -> Any:
    """A group, its admin, `count` verified files with objects, attached as outputs of
    processed entries; answers (user, group, [(key, version_id)])."""
    from core.bulk import bulk_insert
    from filesharing import s3
    from filesharing.models import File
    from groups.services import group_create
    from submissions.models import EntryFile, ProcessedData, SequenceEntry
    from submissions.organisms import organism_get
    from tests.factories import UserFactory

    s3.bucket_setup(web_origins=[])
    user = UserFactory(username=f"release-bench-{uuid.uuid4().hex[:8]}")
    group = group_create(user=user, name=f"release-bench-{uuid.uuid4().hex[:8]}")
    ids = [uuid.uuid4() for _ in range(count)]
    client, bucket = s3.client(), s3.bucket()

    def put(file_id: uuid.UUID) -> str:
        response = client.put_object(Bucket=bucket, Key=f"files/{file_id}", Body=b"reads\n")
        return str(response.get("VersionId") or "")

    with ThreadPoolExecutor(16) as pool:
        versions = list(pool.map(put, ids))
    from django.utils import timezone

    now = timezone.now()
    files = [
        File(
            id=file_id,
            group=group,
            uploader=user,
            name=f"out_{n}.bam",
            status=File.Status.VERIFIED,
            size=6,
            sha256="0" * 64,
            s3_version_id=version,
            upload_deadline=now,
            verified_at=now,
            is_latest=True,
        )
        for n, (file_id, version) in enumerate(zip(ids, versions, strict=True))
    ]
    bulk_insert(files)
    organism = organism_get(None)
    entries = SequenceEntry.objects.bulk_create(
        SequenceEntry(
            accession=f"RB{uuid.uuid4().hex[:10]}",
            version=1,
            organism=organism.name,
            group=group,
            submitter=user,
            submission_id=f"s{n}",
            status=SequenceEntry.Status.PROCESSED,
        )
        for n in range(ENTRIES)
    )
    processed = ProcessedData.objects.bulk_create(
        ProcessedData(entry=entry, pipeline_version=1, status=ProcessedData.Status.PROCESSED)
        for entry in entries
    )
    category = sorted(organism.output_category_names)[0]
    EntryFile.objects.bulk_create(
        EntryFile(
            entry=entries[n % ENTRIES],
            processed_data=processed[n % ENTRIES],
            kind=EntryFile.Kind.OUTPUT,
            category=category,
            name=file.name,
            file=file,
        )
        for n, file in enumerate(files)
    )
    return user, group, [(f"files/{i}", v) for i, v in zip(ids, versions, strict=True)]


def reset(group: Any) -> None:
    from filesharing.models import File
    from submissions.models import ProcessedData, SequenceEntry

    File.objects.filter(group=group).update(released_at=None)
    ProcessedData.objects.filter(entry__group=group).update(released_at=None)
    SequenceEntry.objects.filter(group=group).update(
        status=SequenceEntry.Status.PROCESSED, released_at=None, approver=None
    )


@contextlib.contextmanager
def worker(concurrency: int, queue: str, log: Path) -> Iterator[None]:
    from tests.celery_worker import worker_command

    env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": queue, "CELERY_TASK_ALWAYS_EAGER": "0"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            worker_command(queue, f"--concurrency={concurrency}"),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(8)  # the pool's processes boot Django
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {log}")
        yield
    finally:
        stop(process, timeout=30)


def time_release(user: Any, group: Any, count: int) -> float:
    from django.db import transaction

    from filesharing.models import File
    from submissions.services import entries_approve

    reset(group)
    started = time.perf_counter()
    with transaction.atomic():
        entries_approve(user=user, group=group)
    while File.objects.filter(group=group, released_at__isnull=False).count() < count:
        if time.perf_counter() - started > 600:
            raise RuntimeError("the release did not finish in 10 minutes")
        time.sleep(0.05)
    return time.perf_counter() - started


def time_bare_tagging(objects: list[tuple[str, str]]) -> float:
    from filesharing import s3

    client, bucket = s3.client(), s3.bucket()
    tagging = {"TagSet": [{"Key": "public", "Value": "true"}]}

    def tag(item: tuple[str, str]) -> None:
        key, version = item
        client.put_object_tagging(Bucket=bucket, Key=key, VersionId=version, Tagging=tagging)

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(tag, objects))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    database_url = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault_bench_release"
    )
    with s3_endpoint():
        configure(database_url)
        from config import celery_app

        queue = f"bench-release-{uuid.uuid4().hex[:8]}"
        celery_app.conf.task_always_eager = False
        celery_app.conf.task_default_queue = queue
        user, group, objects = make_files(args.files)
        rates: dict[str, list[float]] = {"boto3 16 threads": [], "seqvault release": []}
        log = ROOT / "var" / "bench-logs" / "release-worker.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with worker(args.concurrency, queue, log):
            for round_number in range(args.rounds):
                bare = args.files / time_bare_tagging(objects)
                ours = args.files / time_release(user, group, args.files)
                rates["boto3 16 threads"].append(bare)
                rates["seqvault release"].append(ours)
                print(
                    f"round {round_number + 1}: bare boto3 tagging {bare:7.1f} files/s, "
                    f"release ({args.concurrency} worker processes) {ours:7.1f} files/s",
                    flush=True,
                )
    print_spreads(f"{args.files} files, {args.rounds} rounds, files/s min/median/max", rates, 18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
