"""Transfer throughput: `seqvault upload` / `download` against boto3 and the AWS CLI, on the
same S3 endpoint, rounds interleaved (the order alternates), all ratios printed in one run.

    .venv/bin/python -m bench.upload_throughput [--cases large,small,folder,download]
        [--size 1GiB] [--small 1000x1MiB] [--folder 10x200MiB,500x100KiB] [--rounds 3]

Cases, each with min/median/max over the rounds:
- large:    one file; `seqvault upload` against boto3 `upload_file` with s3transfer's defaults
            (8 MiB parts, 10 threads, CRC32), with 16 MiB parts x 10 threads, and with 16 MiB
            parts x 10 threads sending each part's SHA-256 (the check S3 makes of seqvault's
            parts): MiB/s and peak RSS.
- small:    many small files; `seqvault upload <folder>` against a boto3 `put_object` loop:
            files/s. Beside them a pool of 16 threads calling `put_object` shows what the
            endpoint itself takes (no API calls, no hashing): no client can go faster.
- folder:   a folder of mixed sizes; `seqvault upload <folder>` against
            `aws s3 cp --recursive` (the AWS CLI's defaults): MiB/s.
- download: one file; `seqvault download` against boto3 `download_file`: MiB/s and peak RSS.

Every seqvault transfer is the whole command a user runs: request-uploads, S3 checking every
part's (or file's) SHA-256, confirmation; a download checks the file's SHA-256. Small files are
verified by the batch confirmation, so their rows include verification. A multipart upload's
verification is a worker's task that reads the object again after the client is done; there is
no worker here, and `--no-wait` is passed for files that go multipart (s3transfer has no
counterpart to that check).

Starts what it needs (see bench/transfer_setup.py). Test files are kept under var/bench-upload.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.transfer_setup import (
    ACCESS_KEY,
    BUCKET,
    MIB,
    PYTHON,
    REPORT,
    SECRET_KEY,
    VAR,
    Run,
    delete_prefix,
    measured,
    parse_size,
    prepare_database,
    random_file,
    random_folder,
    s3_endpoint,
    server_env,
    verify_now,
    web_server,
)

SEQVAULT_CHILD = (
    """
import sys, time
from seqvault_client.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
"""
    + REPORT
    + "sys.exit(code)\n"
)

BOTO3_SETUP = """
import sys, time
started = time.perf_counter()
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
endpoint, bucket, *args = sys.argv[1:]
s3 = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)
"""

BOTO3_UPLOAD_CHILD = (
    BOTO3_SETUP
    + """
key, path, part_size, threads, checksum = args
config = TransferConfig(multipart_chunksize=int(part_size), max_concurrency=int(threads)) \\
    if int(part_size) else TransferConfig()
extra = {"ChecksumAlgorithm": checksum} if checksum else {}
s3.upload_file(path, bucket, key, Config=config, ExtraArgs=extra)
"""
    + REPORT
)

BOTO3_PUT_LOOP_CHILD = (
    BOTO3_SETUP
    + """
import os
prefix, folder = args
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as body:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
"""
    + REPORT
)

# The endpoint's own ceiling for small PUTs: no API, no hashing, 16 PUTs in flight.
BOTO3_PUT_POOL_CHILD = (
    BOTO3_SETUP
    + """
import os
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    config=Config(
        signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=16
    ),
)
prefix, folder = args
def put(name):
    with open(os.path.join(folder, name), "rb") as body:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, sorted(os.listdir(folder))))
"""
    + REPORT
)

BOTO3_DOWNLOAD_CHILD = (
    BOTO3_SETUP
    + """
key, path = args
s3.download_file(bucket, key, path)
"""
    + REPORT
)

AWSCLI_CHILD = (
    """
import sys, time
started = time.perf_counter()
from awscli.clidriver import main
code = main()
"""
    + REPORT
    + "sys.exit(code)\n"
)


@dataclass
class Case:
    """One comparison: `seqvault` and each baseline run once per round, in alternating order;
    `unit` is what a round's figure counts (MiB or files) per second."""

    name: str
    title: str
    amount: float
    unit: str
    clients: dict[str, Callable[[int], Run]]
    memory: bool = False
    runs: dict[str, list[Run]] = field(default_factory=dict)


@dataclass
class Bench:
    endpoint: str
    url: str
    token: str
    env: dict[str, str]
    args: argparse.Namespace

    def seqvault(self, *arguments: str) -> tuple[Run, str]:
        env = {
            **os.environ,
            "SEQVAULT_URL": self.url,
            "SEQVAULT_TOKEN": self.token,
            "SEQVAULT_CONFIG_DIR": str(VAR / "client-config"),
        }
        return measured([PYTHON, "-c", SEQVAULT_CHILD, "-q", *arguments], env)

    def upload(self, path: Path, *extra: str) -> tuple[Run, list[str]]:
        run, stdout = self.seqvault(
            "upload", str(path), "--group", "Bench Lab", "--no-dedup", "--json", *extra
        )
        results = [json.loads(line) for line in stdout.splitlines()]
        bad = [r for r in results if r["status"] not in ("verified", "uploaded")]
        if bad:
            raise SystemExit(f"seqvault upload failed: {bad[:3]}")
        return run, [r["fileId"] for r in results]

    def boto3(self, child: str, *arguments: str) -> Run:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        return measured([PYTHON, "-c", child, self.endpoint, BUCKET, *arguments], env)[0]

    def awscli(self, *arguments: str) -> Run:
        config = VAR / "aws-config"
        config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(VAR / "aws-credentials-none"),
        }
        command = [PYTHON, "-c", AWSCLI_CHILD, "--endpoint-url", self.endpoint, *arguments]
        return measured(command, env)[0]

    def forget(self, file_ids: list[str]) -> None:
        for file_id in file_ids:
            delete_prefix(self.endpoint, f"files/{file_id}")


def large_case(bench: Bench, size: int) -> Case:
    path = random_file(VAR / f"upload-{size}.bin", size)

    def seqvault(round_: int) -> Run:
        run, ids = bench.upload(path, "--no-wait", "--jobs", str(bench.args.jobs))
        bench.forget(ids)
        return run

    def boto3(part_size: int, threads: int, checksum: str = "") -> Callable[[int], Run]:
        def client(round_: int) -> Run:
            key = f"bench/large-{part_size}-{checksum}-{round_}"
            run = bench.boto3(
                BOTO3_UPLOAD_CHILD, key, str(path), str(part_size), str(threads), checksum
            )
            delete_prefix(bench.endpoint, key)
            return run

        return client

    return Case(
        "large",
        f"one file of {size / MIB:.0f} MiB, upload",
        size / MIB,
        "MiB/s",
        {
            "seqvault upload": seqvault,
            "boto3 upload_file (defaults)": boto3(0, 0),
            "boto3 upload_file (16 MiB x 10)": boto3(16 * MIB, 10),
            "boto3 upload_file (16 MiB x 10, SHA-256)": boto3(16 * MIB, 10, "SHA256"),
        },
        memory=True,
    )


def small_case(bench: Bench, count: int, size: int) -> Case:
    folder = random_folder(VAR / f"small-{count}x{size}", [(count, size)])

    def seqvault(round_: int) -> Run:
        run, ids = bench.upload(folder)
        bench.forget(ids)
        return run

    def boto3(child: str, label: str) -> Callable[[int], Run]:
        def client(round_: int) -> Run:
            prefix = f"bench/small-{label}-{round_}"
            run = bench.boto3(child, prefix, str(folder))
            delete_prefix(bench.endpoint, prefix)
            return run

        return client

    return Case(
        "small",
        f"{count} files of {size / MIB:g} MiB, upload",
        count,
        "files/s",
        {
            "seqvault upload": seqvault,
            "boto3 put_object loop": boto3(BOTO3_PUT_LOOP_CHILD, "loop"),
            "boto3 put_object, 16 threads": boto3(BOTO3_PUT_POOL_CHILD, "pool"),
        },
    )


def folder_case(bench: Bench, groups: list[tuple[int, int]]) -> Case:
    name = "+".join(f"{count}x{size}" for count, size in groups)
    folder = random_folder(VAR / f"folder-{name}", groups)
    total = sum(count * size for count, size in groups)

    def seqvault(round_: int) -> Run:
        run, ids = bench.upload(folder, "--no-wait")
        bench.forget(ids)
        return run

    def awscli(round_: int) -> Run:
        prefix = f"bench/folder-{round_}"
        run = bench.awscli(
            "s3", "cp", "--recursive", "--quiet", str(folder), f"s3://{BUCKET}/{prefix}/"
        )
        delete_prefix(bench.endpoint, prefix)
        return run

    label = " + ".join(f"{count} x {size / MIB:g} MiB" for count, size in groups)
    return Case(
        "folder",
        f"a folder of {label}, upload",
        total / MIB,
        "MiB/s",
        {"seqvault upload": seqvault, "aws s3 cp --recursive": awscli},
    )


def download_case(bench: Bench, size: int) -> Case:
    path = random_file(VAR / f"upload-{size}.bin", size)
    _, [file_id] = bench.upload(path, "--no-wait")
    verify_now(bench.env, file_id)
    out = VAR / "downloads"

    def seqvault(round_: int) -> Run:
        shutil.rmtree(out, ignore_errors=True)
        run, _ = bench.seqvault("download", file_id, "-o", str(out), "--jobs", str(bench.args.jobs))
        return run

    def boto3(round_: int) -> Run:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        return bench.boto3(BOTO3_DOWNLOAD_CHILD, f"files/{file_id}", str(out / "copy.bin"))

    return Case(
        "download",
        f"one file of {size / MIB:.0f} MiB, download",
        size / MIB,
        "MiB/s",
        {"seqvault download": seqvault, "boto3 download_file": boto3},
        memory=True,
    )


def spread(values: list[float], digits: int = 1) -> str:
    return " / ".join(
        f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


def report(case: Case) -> None:
    print(f"\n## {case.title}: {len(next(iter(case.runs.values())))} rounds, interleaved")
    print(f"{'client':<42}{case.unit + ' min/median/max':>28}{'peak RSS MiB':>16}{'CPU s':>8}")
    for label, runs in case.runs.items():
        rates = [case.amount / run.seconds for run in runs]
        peaks = [run.peak_rss_kib / 1024 for run in runs]
        cpu = statistics.median(run.cpu_seconds for run in runs)
        print(f"{label:<42}{spread(rates):>28}{spread(peaks, 0):>16}{cpu:>8.1f}")
    ours, *baselines = case.runs
    for baseline in baselines:
        pairs = list(zip(case.runs[ours], case.runs[baseline], strict=True))
        speed = [b.seconds / o.seconds for o, b in pairs]
        line = f"ratio {ours} / {baseline}: {spread(speed, 2)}x {case.unit}"
        if case.memory:
            memory = [o.peak_rss_kib / b.peak_rss_kib for o, b in pairs]
            line += f", {spread(memory, 2)}x peak RSS"
        print(line)


def run_case(case: Case, rounds: int) -> None:
    case.runs = {label: [] for label in case.clients}
    for client in case.clients.values():  # warm-up, not counted
        client(0)
    for round_ in range(1, rounds + 1):
        order = list(case.clients.items())
        if round_ % 2 == 0:
            order.reverse()
        for label, client in order:
            run = client(round_)
            case.runs[label].append(run)
            print(
                f"{case.name} round {round_}: {label}: {case.amount / run.seconds:.1f} "
                f"{case.unit} ({run.seconds:.2f} s, peak RSS {run.peak_rss_kib / 1024:.0f} MiB)",
                flush=True,
            )


def parse_groups(text: str) -> list[tuple[int, int]]:
    groups = []
    for item in text.split(","):
        count, size = item.lower().split("x", 1)
        groups.append((int(count), parse_size(size)))
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="large,small,folder,download")
    parser.add_argument("--size", default="1GiB", help="the large file and the download (1GiB)")
    parser.add_argument("--small", default="1000x1MiB", help="small files: COUNTxSIZE")
    parser.add_argument("--folder", default="10x200MiB,500x100KiB", help="COUNTxSIZE,…")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (3)")
    parser.add_argument("--jobs", type=int, default=6, help="seqvault parts/ranges in flight")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    with s3_endpoint() as endpoint:
        env = server_env(endpoint)
        token = prepare_database(env)
        with web_server(env) as url:
            bench = Bench(endpoint, url, token, env, args)
            builders = {
                "large": lambda: large_case(bench, parse_size(args.size)),
                "small": lambda: small_case(bench, *parse_groups(args.small)[0]),
                "folder": lambda: folder_case(bench, parse_groups(args.folder)),
                "download": lambda: download_case(bench, parse_size(args.size)),
            }
            done = []
            for name in cases:
                case = builders[name]()
                run_case(case, args.rounds)
                done.append(case)
    print(f"\n# seqvault transfer benchmark ({os.cpu_count()} cores)")
    for case in done:
        report(case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
