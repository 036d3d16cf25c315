"""Shared by the HTTP benchmarks: the S3 emulator, gunicorn as production runs it (4 sync
workers, production settings), a bare WSGI app on the same gunicorn, and wrk's figures."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
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

from devtools.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_WORKERS = 4


@contextlib.contextmanager
def s3_endpoint(state: str = "bench-s3") -> Iterator[str]:
    """S3_ENDPOINT_URL if set, else an emulator of the benchmark's own (its state under var/)."""
    if os.environ.get("S3_ENDPOINT_URL"):
        yield os.environ["S3_ENDPOINT_URL"]
        return
    from devtools.s3_emulator import ensure_venv, start_emulator

    ensure_venv(ROOT)
    with start_emulator(ROOT, ROOT / "var" / state) as emulator:
        os.environ["S3_ENDPOINT_URL"] = emulator.endpoint_url
        yield emulator.endpoint_url


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "k" * 50),
        "DJANGO_SECURE_COOKIES": "0",
        # Plain HTTP on loopback, as behind a proxy that ends TLS.
        "DJANGO_SSL_REDIRECT": "0",
        # Throughput is measured, not the per-token write limit.
        "RATE_LIMIT_WRITES": "",
        "DATABASE_URL": database_url,
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID", "test"),
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY", "test"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


def run_json(module: str, arguments: list[str], env: dict[str, str]) -> Any:
    """Run `python -m module arguments` and answer the JSON of its last line of output."""
    output = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def gunicorn(
    name: str,
    app: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = GUNICORN_WORKERS,
    threads: int = 1,
    timeout: int = 30,
    root: Path = ROOT,
) -> Iterator[Server]:
    """gunicorn serving `app` on a free loopback port, once Django (or the app) answers; the
    app is imported from `root` (another checkout of the project, to compare with)."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--access-logfile",
        str(log_dir / f"{name}-access.log"),
    ]
    with open(log_dir / f"{name}.log", "wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name=name, url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn {name} exited; see {log_dir / (name + '.log')}")
            if _answers(f"{server.url}/api/files/"):  # 401 at once; health probes S3
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {name} did not start")
            time.sleep(0.2)
        # The port answers once the first worker is up; give the others time to boot.
        time.sleep(3)
        yield server
    finally:
        stop(process, timeout=20)


def _answers(url: str) -> bool:
    """Whether Django answers at all."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only)
            return bool(response.status < 500)
    except urllib.error.HTTPError:
        return True  # Django answered (health may report a dependency down)
    except OSError:
        return False


@dataclass(frozen=True)
class WrkResult:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(text)
    return float(match[1]) * _UNITS[match[2]]


def wrk(
    url: str, *, script: Path, connections: int, duration: float, threads: int = 2
) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    total = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx[1]) if non_2xx else 0
    if not (total and rate and "50" in percentiles and "99" in percentiles):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return WrkResult(
        requests=int(total[1]),
        per_second=float(rate[1]),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        errors=errors,
    )


def spread(values: list[float]) -> str:
    """min/median/max."""
    return f"{min(values):.1f}/{statistics.median(values):.1f}/{max(values):.1f}"


def print_spreads(heading: str, runs: dict[str, list[float]], width: int) -> None:
    """The summary every bench ends with: a heading, then min/median/max of each row."""
    print(f"\n{heading}")
    for name, values in runs.items():
        print(f"{name:<{width}} {spread(values)}")


def stop(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
