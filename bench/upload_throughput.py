"""Upload throughput: one file through `seqvault upload` and through boto3's `upload_file`
(s3transfer defaults) to the same S3 endpoint, alternating, in one run.

    .venv/bin/python -m bench.upload_throughput [--size 1GiB] [--rounds 3] [--jobs 6]

Starts what it needs: the S3 emulator (unless S3_ENDPOINT_URL is set), a PostgreSQL database
`seqvault_bench_upload` (DATABASE_URL overrides it), and the web server (gunicorn) on a free
loopback port. Each upload runs in its own process, which reports its own transfer time and
peak resident memory (VmHWM: getrusage would also count this parent's memory from before exec).

What is measured for seqvault is the whole command: request-uploads, the multipart upload with
per-part and whole-file SHA-256 (S3 checks every part), and completion. The server's
verification (a task that hashes the object again) is not waited for (`--no-wait`): s3transfer
has no counterpart to it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import free_port, s3_endpoint

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-upload"
PYTHON = sys.executable
MIB = 1024**2

LABELS = {
    "seqvault": "seqvault upload",
    "boto3": "boto3 upload_file",
    "boto3-sha256": "  … SHA-256 parts",
}

SEQVAULT_CHILD = """
import sys, time
from seqvault_client.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - started
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT", elapsed, hwm, usage.ru_utime + usage.ru_stime, file=sys.stderr)
sys.exit(code)
"""

BOTO3_CHILD = """
import sys, time
import boto3
from botocore.config import Config
endpoint, bucket, key, path, algorithm = sys.argv[1:]
started = time.perf_counter()
s3 = boto3.client(
    "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
    region_name="us-east-1",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)
extra = {"ChecksumAlgorithm": algorithm} if algorithm else None
s3.upload_file(path, bucket, key, ExtraArgs=extra)
elapsed = time.perf_counter() - started
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT", elapsed, hwm, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def parse_size(text: str) -> int:
    from seqvault_client.sizes import parse_size as parse

    return parse(text)


def server_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault_bench_upload"
        ),
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        # Verification tasks are queued nowhere: the upload itself is what is measured.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Throughput is measured, not the per-token write limit (thousands of calls a round).
        "RATE_LIMIT_WRITES": "",
    }


def prepare_database(env: dict[str, str]) -> str:
    """Create and migrate the database and bucket; return an API token for the bench user."""
    import psycopg

    admin_url, name = env["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')

    def manage(*args: str) -> str:
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    manage("migrate", "--noinput", "-v", "0")
    manage("setup_bucket")
    return manage("issue_token", "bench", "--group", "Bench Lab", "--name", "bench").strip()


@contextlib.contextmanager
def web_server(env: dict[str, str], *, workers: int = 2, threads: int = 8) -> Iterator[str]:
    port = free_port()
    VAR.mkdir(parents=True, exist_ok=True)
    log = (VAR / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(PYTHON).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "600",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/health/", timeout=2)  # noqa: S310
                break
            except urllib.error.HTTPError:
                break  # answering; the health of the (unused) broker does not matter here
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the server did not start; see {VAR / 'server.log'}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_file(size: int) -> Path:
    """Random bytes (nothing compresses or deduplicates), kept between runs."""
    path = VAR / f"upload-{size}.bin"
    if path.exists() and path.stat().st_size == size:
        return path
    VAR.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(16 * MIB, left))
            handle.write(chunk)
            left -= len(chunk)
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
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    _, elapsed, hwm, cpu = lines[-1].split()
    return Run(float(elapsed), int(hwm), float(cpu)), done.stdout


def seqvault_upload(path: Path, url: str, token: str, args: argparse.Namespace) -> tuple[Run, str]:
    env = {
        **os.environ,
        "SEQVAULT_URL": url,
        "SEQVAULT_TOKEN": token,
        "SEQVAULT_CONFIG_DIR": str(VAR / "client-config"),
    }
    command = [
        PYTHON,
        "-c",
        SEQVAULT_CHILD,
        "-q",
        "upload",
        str(path),
        "--group",
        "Bench Lab",
        "--no-dedup",
        "--no-wait",
        "--json",
        "--jobs",
        str(args.jobs),
    ]
    if args.part_size:
        command += ["--part-size", args.part_size]
    run, stdout = measured(command, env)
    return run, json.loads(stdout)[0]["fileId"]


def boto3_upload(path: Path, endpoint: str, key: str, algorithm: str = "") -> Run:
    """s3transfer's defaults; with `algorithm` SHA256, S3 checks every part as it does for
    seqvault's (the defaults send CRC32, cheaper for the server to check)."""
    run, _ = measured(
        [PYTHON, "-c", BOTO3_CHILD, endpoint, "seqvault", key, str(path), algorithm],
        dict(os.environ),
    )
    return run


def delete_all_versions(endpoint: str, key: str) -> None:
    """Keep the emulator's disk use to one copy at a time."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
    )
    listed = s3.list_object_versions(Bucket="seqvault", Prefix=key)
    for version in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket="seqvault", Key=key, VersionId=version["VersionId"])


def warm_up(endpoint: str, url: str, token: str, args: argparse.Namespace) -> None:
    """One small upload with each client first, not counted: the server's threads create their
    S3 clients on first use, and the emulator loads its multipart code on the first upload."""
    small = test_file(96 * MIB)  # above the 64 MiB multipart threshold
    for _ in range(2):
        _, file_id = seqvault_upload(small, url, token, args)
        delete_all_versions(endpoint, f"files/{file_id}")
        boto3_upload(small, endpoint, "bench/warm-up")
        delete_all_versions(endpoint, "bench/warm-up")


def report(size: int, runs: dict[str, list[Run]]) -> None:
    mib = size / MIB
    print(f"\n{mib:.0f} MiB per upload, {len(runs['seqvault'])} rounds, alternating\n")
    print(
        f"{'client':<20}{'MiB/s (each round)':<24}{'median MiB/s':>13}"
        f"{'peak RSS':>11}{'CPU s/GiB':>11}"
    )
    medians: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for name, label in LABELS.items():
        rates = [mib / run.seconds for run in runs[name]]
        medians[name] = statistics.median(rates)
        peaks[name] = max(run.peak_rss_kib for run in runs[name]) / 1024
        cpu = statistics.median(run.cpu_seconds for run in runs[name]) / (size / 1024**3)
        each = ", ".join(f"{rate:.0f}" for rate in rates)
        print(f"{label:<20}{each:<24}{medians[name]:>13.1f}{peaks[name]:>7.0f} MiB{cpu:>11.2f}")
    ratio = medians["seqvault"] / medians["boto3"]
    memory = peaks["seqvault"] / peaks["boto3"]
    print(f"\nseqvault / boto3: {ratio:.2f}x the throughput, {memory:.2f}x the peak memory")
    same_work = medians["seqvault"] / medians["boto3-sha256"]
    print(f"seqvault / boto3 with SHA-256 parts: {same_work:.2f}x the throughput")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB", help="file size (1GiB)")
    parser.add_argument("--rounds", type=int, default=3, help="uploads per client (3)")
    parser.add_argument("--jobs", type=int, default=6, help="seqvault parts in flight (6)")
    parser.add_argument("--part-size", help="seqvault part size (default: the server's)")
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    path = test_file(size)
    runs: dict[str, list[Run]] = {name: [] for name in LABELS}
    with s3_endpoint("bench-upload-s3") as endpoint:
        env = server_env(endpoint)
        token = prepare_database(env)
        with web_server(env) as url:
            warm_up(endpoint, url, token, args)
            for round_ in range(1, args.rounds + 1):
                order: list[Any] = list(LABELS) if round_ % 2 else list(reversed(LABELS))
                for name in order:
                    if name == "seqvault":
                        run, file_id = seqvault_upload(path, url, token, args)
                        delete_all_versions(endpoint, f"files/{file_id}")
                    else:
                        key = f"bench/{name}-{round_}"
                        algorithm = "SHA256" if name == "boto3-sha256" else ""
                        run = boto3_upload(path, endpoint, key, algorithm)
                        delete_all_versions(endpoint, key)
                    runs[name].append(run)
                    print(
                        f"round {round_} {name:<9} {size / MIB / run.seconds:7.1f} MiB/s "
                        f"({run.seconds:.1f} s, peak RSS {run.peak_rss_kib / 1024:.0f} MiB, "
                        f"CPU {run.cpu_seconds:.1f} s)",
                        flush=True,
                    )
    report(size, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
