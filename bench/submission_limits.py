"""Memory and time of a real gunicorn worker while it refuses hostile submission files, beside
an ordinary submission, interleaved in one run:

    .venv/bin/python -m bench.submission_limits [--rounds 3]

Cases: a small valid submission (the baseline); a 261 KB gzip that inflates to 256 MiB of zeros
(one endless line); a gzip of 5 million valid rows; a zstd FASTA that inflates to 256 MiB; a
50 MB plain TSV. For each request the worker's peak resident memory is reset beforehand
(/proc/<pid>/clear_refs) and read afterwards (VmHWM), so growth = peak - resident before.

Starts the S3 emulator unless S3_ENDPOINT_URL is set, and uses the database
`seqvault_bench_upload` (DATABASE_URL overrides it), as bench.upload_throughput does.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests
import zstandard

from bench.upload_throughput import prepare_database, s3_endpoint, server_env, web_server

MIB = 1024**2
HEADER = b"submissionId\tsampleCollectionDate\tgeoLocCountry\n"


def row(n: int) -> bytes:
    return f"s{n}\t2024-05-01\tSwitzerland\n".encode()


def cases() -> dict[str, tuple[bytes, bytes | None]]:
    """name -> (metadataFile, sequenceFile)"""
    fasta_bomb = zstandard.ZstdCompressor(level=3).compress(
        b">s1\n" + (b"A" * 60 + b"\n") * (256 * MIB // 61)
    )
    return {
        "valid, 10 rows": (HEADER + b"".join(row(n) for n in range(10)), None),
        "gzip bomb 256 MiB": (gzip.compress(b"\0" * (256 * MIB), compresslevel=9), None),
        "gzip of 5M rows": (gzip.compress(HEADER + row(1) * 5_000_000), None),
        "zstd FASTA 256 MiB": (HEADER + row(1), fasta_bomb),
        "plain TSV 50 MB": (HEADER + row(1) * (50_000_000 // len(row(1))), None),
    }


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def measured(pid: int, send: Callable[[], requests.Response]) -> tuple[int, str, float, float]:
    """(status, error code, seconds, MiB of growth over the resident memory before)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = rss_kib(pid, "VmRSS")
    started = time.monotonic()
    response = send()
    seconds = time.monotonic() - started
    growth = (rss_kib(pid, "VmHWM") - before) / 1024
    code = response.json()["error"]["code"] if response.status_code >= 400 else ""
    return response.status_code, code, seconds, growth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bodies = cases()
    with s3_endpoint() as endpoint:
        env = server_env(endpoint)
        token = prepare_database(env)
        with web_server(env, workers=1, threads=1) as url:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            groups = session.get(f"{url}/api/groups/", timeout=30).json()
            listed = groups["results"] if isinstance(groups, dict) else groups
            group_id = next(g["id"] for g in listed if g["name"] == "Bench Lab")
            master = int(
                subprocess.run(
                    ["pgrep", "-o", "-f", f"gunicorn.*{url.rsplit(':', 1)[1]}"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()[0]
            )
            pid = worker_pid(master)
            results: dict[str, list[tuple[int, str, float, float]]] = {name: [] for name in bodies}
            for _ in range(args.rounds):
                for name, (metadata, fasta) in bodies.items():
                    files = {"metadataFile": ("metadata.tsv", metadata)}
                    if fasta is not None:
                        files["sequenceFile"] = ("sequences.fasta", fasta)

                    def send(files: dict[str, tuple[str, bytes]] = files) -> requests.Response:
                        return session.post(
                            f"{url}/api/submit?groupId={group_id}", files=files, timeout=600
                        )

                    results[name].append(measured(pid, send))
    print(f"gunicorn, 1 worker, 1 thread; {args.rounds} rounds, interleaved")
    print(
        f"{'case':<22}{'sent':>10}  {'answer':<40}{'seconds min/med/max':>22}"
        f"{'RSS growth MiB min/med/max':>30}"
    )
    for name, runs in results.items():
        metadata, fasta = bodies[name]
        sent = (len(metadata) + len(fasta or b"")) / MIB
        answers = sorted({f"{status} {code}".strip() for status, code, _, _ in runs})
        seconds = sorted(run[2] for run in runs)
        growth = sorted(run[3] for run in runs)
        print(
            f"{name:<22}{sent:>8.2f} M  {', '.join(answers):<40}"
            f"{seconds[0]:>8.2f}{statistics.median(seconds):>7.2f}{seconds[-1]:>7.2f}"
            f"{growth[0]:>12.1f}{statistics.median(growth):>9.1f}{growth[-1]:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
