"""Memory and speed of reading an object back to verify it: seqvault's one-pass SHA-256 + MD5
(`s3.hash_object_digests`) beside boto3's managed `download_fileobj` into the same two hashes,
each run in a fresh process on the same object in the S3 emulator, interleaved.

    .venv/bin/python -m bench.verify_memory [--size-mib 1024] [--rounds 3]

Prints, per run and as min/median/max: MiB/s, and the memory the process gained while
hashing (peak RSS, VmHWM, minus the RSS before it began) beside its peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.servers import ROOT, run_json, s3_endpoint, server_env, spread

MIB = 1024 * 1024
KEY = "bench/verify-memory"


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


class _HashingSink:
    """A file-like sink that hashes what it is written, in order."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.md5.update(data)
        return len(data)


def child(kind: str, size: int, version_id: str) -> None:
    _setup()
    from filesharing import s3

    s3.client().head_bucket(Bucket=s3.bucket())  # connections and credentials made first
    before = _status("VmRSS")
    started = time.perf_counter()
    if kind == "seqvault":
        digests = s3.hash_object_digests(key=KEY, size=size, version_id=version_id)
        sha256 = digests.sha256_hex
    else:
        sink = _HashingSink()
        s3.client().download_fileobj(
            s3.bucket(), KEY, sink, ExtraArgs={"VersionId": version_id} if version_id else None
        )
        sha256 = sink.sha256.hexdigest()
    elapsed = time.perf_counter() - started
    peak = _status("VmHWM")
    print(json.dumps({"seconds": elapsed, "before": before, "peak": peak, "sha256": sha256}))


def upload(size: int) -> tuple[str, str]:
    _setup()
    from boto3.s3.transfer import TransferConfig

    from filesharing import s3

    s3.bucket_setup(web_origins=[])
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=ROOT / "var") as handle:
        for _ in range(size // (8 * MIB)):
            piece = os.urandom(8 * MIB)
            digest.update(piece)
            handle.write(piece)
        handle.flush()
        s3.client().upload_file(
            handle.name, s3.bucket(), KEY, Config=TransferConfig(multipart_chunksize=64 * MIB)
        )
    version = s3.client().head_object(Bucket=s3.bucket(), Key=KEY).get("VersionId") or ""
    return digest.hexdigest(), version


def run_child(kind: str, size: int, version_id: str) -> dict[str, Any]:
    env = {
        **server_env(os.environ.get("DATABASE_URL", "")),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    arguments = ["--child", kind, "--size", str(size)]
    return dict(
        run_json(
            "bench.verify_memory",
            arguments + (["--version-id", version_id] if version_id else []),
            env,
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--version-id", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seqvault_bench")
    if args.child:
        child(args.child, args.size, args.version_id)
        return 0
    size = args.size_mib * MIB
    results: dict[str, list[dict[str, Any]]] = {"seqvault": [], "boto3": []}
    with s3_endpoint():
        os.environ.update({k: v for k, v in server_env("").items() if k.startswith("S3_")})
        expected, version = upload(size)
        for round_number in range(args.rounds):
            for kind in ("boto3", "seqvault"):
                outcome = run_child(kind, size, version)
                assert outcome["sha256"] == expected, f"{kind} hashed other bytes"
                results[kind].append(outcome)
                rate = size / MIB / outcome["seconds"]
                print(
                    f"round {round_number + 1} {kind:<9} {rate:7.1f} MiB/s"
                    f"  held {(outcome['peak'] - outcome['before']) / MIB:6.1f} MiB"
                    f"  peak RSS {outcome['peak'] / MIB:6.1f} MiB",
                    flush=True,
                )
    print(f"\n{args.size_mib} MiB object, {args.rounds} rounds, min/median/max")
    for kind, runs in results.items():
        rates = [size / MIB / r["seconds"] for r in runs]
        held = [(r["peak"] - r["before"]) / MIB for r in runs]
        peaks = [r["peak"] / MIB for r in runs]
        print(
            f"{kind:<9} MiB/s {spread(rates)}  held MiB {spread(held)}  "
            f"peak RSS MiB {spread(peaks)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
