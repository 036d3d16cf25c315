"""What the transfer benchmarks start and share: the S3 emulator (unless S3_ENDPOINT_URL is
set), a PostgreSQL database `seqvault_bench_upload` (DATABASE_URL overrides it), the web server
(gunicorn) on a free loopback port, test files of random bytes, and child processes that report
their own transfer time, peak resident memory (VmHWM: getrusage would also count this parent's
memory from before exec) and CPU time."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers
from devtools.run_tests import ensure_database

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-upload"
PYTHON = sys.executable
MIB = 1024**2
BUCKET = "seqvault"
# The emulator's keys, or those of the S3 named by S3_ENDPOINT_URL (say a Ceph RGW).
ACCESS_KEY = os.environ.get("S3_ACCESS_KEY_ID", "test")
SECRET_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "test")

# Appended to every child: prints "RESULT <seconds> <VmHWM KiB> <CPU seconds>" on stderr.
REPORT = """
elapsed = time.perf_counter() - started
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT", elapsed, hwm, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def parse_size(text: str) -> int:
    from seqvault_client.sizes import parse_size as parse

    return parse(text)


@contextlib.contextmanager
def s3_endpoint() -> Iterator[str]:
    with servers.s3_endpoint("bench-upload-s3") as endpoint:
        yield endpoint


def server_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault_bench_upload"
        ),
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        # Verification tasks are queued nowhere: the transfers themselves are what is measured.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Throughput is measured, not the per-token write limit (thousands of calls a round).
        "RATE_LIMIT_WRITES": "",
    }


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare_database(env: dict[str, str]) -> str:
    """Create and migrate the database and bucket; return an API token for the bench user."""
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "setup_bucket")
    return manage(env, "issue_token", "bench", "--group", "Bench Lab", "--name", "bench").strip()


def verify_now(env: dict[str, str], file_id: str) -> None:
    """Run the verification a worker would run after a multipart upload (no worker here)."""
    code = (
        "from filesharing.models import MultipartUpload\n"
        "from filesharing.tasks import verify_multipart_upload_task\n"
        f"for pk in MultipartUpload.objects.filter(file_id='{file_id}').values_list('pk', "
        "flat=True):\n"
        "    verify_multipart_upload_task.run(str(pk))\n"
    )
    manage(env, "shell", "-c", code)


@contextlib.contextmanager
def web_server(env: dict[str, str], *, workers: int = 2, threads: int = 8) -> Iterator[str]:
    """The web server the transfers talk to (test settings: no broker, no rate limits)."""
    with servers.gunicorn(
        "server", "config.wsgi:application", env, VAR, workers=workers, threads=threads, timeout=600
    ) as server:
        yield server.url


def random_file(path: Path, size: int) -> Path:
    """Random bytes (nothing compresses or deduplicates), kept between runs."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(16 * MIB, left))
            handle.write(chunk)
            left -= len(chunk)
    return path


def random_folder(path: Path, groups: list[tuple[int, int]]) -> Path:
    """A folder of (count, size) groups of files, kept between runs."""
    for index, (count, size) in enumerate(groups):
        for number in range(count):
            random_file(path / f"g{index}-{size}-{number:05d}.bin", size)
    return path


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_kib: int
    cpu_seconds: float  # the client's own CPU time (user + system)


def measured(command: list[str], env: dict[str, str]) -> tuple[Run, str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stderr.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    _, elapsed, hwm, cpu = lines[-1].split()
    return Run(float(elapsed), int(hwm), float(cpu)), done.stdout


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def delete_prefix(endpoint: str, prefix: str) -> None:
    """Every version under `prefix`: the emulator's disk holds one copy at a time."""
    s3 = s3_client(endpoint)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
        items = page.get("Versions", []) + page.get("DeleteMarkers", [])
        for start in range(0, len(items), 1000):
            batch = [
                {"Key": v["Key"], "VersionId": v["VersionId"]} for v in items[start : start + 1000]
            ]
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": batch, "Quiet": True})
