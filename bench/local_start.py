"""How long `make run` takes to serve on a fresh clone: cold (no venvs, no data), then warm
restarts, and how long a SIGTERM takes to stop everything. Prints min/median/max.

    .venv/bin/python -m bench.local_start [--warm-rounds 3] [--source .]

The clone is made with `git clone` of the source's HEAD into a temporary folder, so only
committed files count; pip's and uv's caches are used as they are on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from devtools.embedded import free_port

START_TIMEOUT = 900.0


def _serve_and_stop(clone: Path, port: int) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "S3_"))}
    env["PORT"] = str(port)
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    served = threading.Event()
    log: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if "Serving seqvault" in line:
                served.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while not served.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit("make run did not serve:\n" + "".join(log[-40:]))
    to_serve = time.monotonic() - started
    stopping = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(60)
    return to_serve, time.monotonic() - stopping


def _figures(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} min {min(values):6.1f} s  median {statistics.median(values):6.1f} s  "
        f"max {max(values):6.1f} s  (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--warm-rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="seqvault-fresh-"))
    try:
        clone = folder / "seqvault"
        subprocess.run(["git", "clone", "-q", str(args.source), str(clone)], check=True)
        port = free_port()
        cold, cold_stop = _serve_and_stop(clone, port)
        warm, stops = [], [cold_stop]
        for _round in range(args.warm_rounds):
            served, stopped = _serve_and_stop(clone, port)
            warm.append(served)
            stops.append(stopped)
        print(f"cold make run to serving {cold:6.1f} s  (fresh clone: venvs, database, bucket)")
        print(_figures("warm restart to serving", warm))
        print(_figures("SIGTERM to all stopped", stops))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
