"""`make run`: the zero-setup default, production's topology in miniature.

PostgreSQL and Redis (from PyPI wheels), LocalStack's S3 with its state kept across restarts, the
web server (gunicorn), a Celery worker, Celery beat and the demo pass-through pipeline, each a
process of its own on 127.0.0.1, all data under `var/`. Ctrl-C or SIGTERM stops every one of them;
the next start serves the same data. `make reset` is what deletes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from devtools.embedded import EmbeddedPostgres, EmbeddedRedis, die_with_parent, listening
from devtools.s3_emulator import ensure_venv, restore_report, running_emulator, start_emulator
from devtools.support import Stop, raise_stop, write_atomically

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("SEQVAULT_VAR_DIR") or ROOT / "var").resolve()
DATABASE = "seqvault"
STOP_GRACE = 4.0  # seconds each process gets after SIGTERM; all of them together stay under 10


@dataclass
class Child:
    """A long-running process of ours whose output is shown with its name in front."""

    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _pump: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher only, which stops us in order
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        assert self.process.stdout is not None
        self._pump = threading.Thread(target=self._show, args=(self.process.stdout,), daemon=True)
        self._pump.start()

    def _show(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            print(f"{self.name:>8} | {line.decode(errors='replace').rstrip()}", flush=True)

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def wait_gone(self, deadline: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
            return True
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def previous_run_state() -> str:
    """'clean', 'running' (another launcher holds var/), or 'unclean' (killed or crashed)."""
    marker = VAR / "run" / "launcher.pid"
    try:
        pid = int(marker.read_text().strip())
    except (OSError, ValueError):
        return "clean"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "unclean"
    return "running" if b"devtools.run_local" in cmdline else "unclean"


def report_storage_restore(state_dir: Path) -> bool:
    """Say what the S3 emulator restored; True when something could not be."""
    report = restore_report(state_dir)
    if report is None:
        return False
    missing = report.get("missing_objects") or []
    assert isinstance(missing, list)
    unrecorded = report.get("unrecorded_files_removed") or 0
    if report.get("previous_stop") == "unclean":
        print(
            "S3 emulator: the previous run stopped without saving. Restored the state it saved "
            f"last ({report.get('restored_objects')} object versions); objects written after "
            "that are not in it."
        )
    unclean = report.get("previous_stop") == "unclean"
    # After a clean stop, unrecorded bytes are only those of writes S3 refused (BadDigest).
    if missing or (unclean and unrecorded):
        print(
            f"S3 emulator: could not restore {len(missing)} object versions (their bytes are "
            f"gone) and removed {unrecorded} files no saved state recorded."
        )
        for item in missing[:20]:
            assert isinstance(item, dict)
            print(f"  missing: {item.get('key')} (version {item.get('versionId')})")
    return report.get("previous_stop") == "unclean" or bool(missing)


def services_env(postgres: EmbeddedPostgres, redis: EmbeddedRedis, s3_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": postgres.url(DATABASE),
        "REDIS_URL": redis.url(0),
        "CELERY_BROKER_URL": redis.url(0),
        "S3_ENDPOINT_URL": s3_url,
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID", "test"),
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY", "test"),
    }


def children(base_url: str, port: int, env: dict[str, str]) -> list[Child]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    (VAR / "celery").mkdir(parents=True, exist_ok=True)
    return [
        Child(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={os.environ.get('WEB_WORKERS', '2')}",
                "--threads=4",
                "--timeout=120",
                "--graceful-timeout=3",
                "--preload",  # the app loads once, then the workers fork
                "--access-logfile=-",
                "--no-control-socket",
            ],
            env,
        ),
        Child(
            "worker",
            [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "--without-gossip"],
            env,
        ),
        Child(
            "beat",
            [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={VAR / 'celery' / 'beat-schedule'}",
            ],
            env,
        ),
        Child(
            "pipeline",
            [
                python,
                "-m",
                "devtools.demo_pipeline",
                f"--url={base_url}",
                f"--token-file={VAR / 'run' / 'pipeline-token'}",
            ],
            env,
        ),
    ]


class Stoppable(Protocol):
    def stop(self) -> None: ...


def stop_together(servers: list[Stoppable]) -> None:
    with ThreadPoolExecutor(max(1, len(servers))) as pool:
        for future in [pool.submit(server.stop) for server in servers]:
            with contextlib.suppress(Exception):
                future.result()


def stop_all(running: list[Child]) -> None:
    for child in running:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for child in running:
        if not child.wait_gone(deadline):
            print(f"{child.name} did not stop within {STOP_GRACE:.0f} s; killing it.", flush=True)
            child.signal(signal.SIGKILL)
            child.wait_gone(time.monotonic() + 2)


def serve(port: int, stack: contextlib.ExitStack) -> int:
    base_url = f"http://127.0.0.1:{port}"
    ensure_venv(ROOT)
    s3_state = VAR / "s3"
    if (leftover := running_emulator(s3_state)) is not None:
        print(f"Stopping the S3 emulator a previous run left behind (pid {leftover.pid}).")
        leftover.stop()
    # The emulator starts in a thread while PostgreSQL and Redis start here: they are killed by
    # the kernel when the thread that started them ends (PR_SET_PDEATHSIG), so not in a pool.
    # They are stopped side by side at the end, after everything that uses them.
    backing: list[Stoppable] = []
    stack.callback(stop_together, backing)
    with ThreadPoolExecutor(1) as pool:
        s3_started = pool.submit(start_emulator, ROOT, s3_state, persist=True)
        try:
            postgres = EmbeddedPostgres(VAR / "postgres").start()
            backing.append(postgres)
            redis = EmbeddedRedis(VAR / "redis").start()
            backing.append(redis)
        finally:
            with contextlib.suppress(Exception):  # raised again by result() below
                backing.append(s3_started.result())
        emulator = s3_started.result()
    postgres.ensure_database(DATABASE)
    storage_incomplete = report_storage_restore(s3_state)
    print(
        f"PostgreSQL at 127.0.0.1:{postgres.port}, Redis at 127.0.0.1:{redis.port}, "
        f"S3 emulator at {emulator.endpoint_url}; data in {VAR}",
        flush=True,
    )
    endpoints = services_env(postgres, redis, emulator.endpoint_url)
    env = {
        **os.environ,
        **endpoints,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SEQVAULT_VAR_DIR": str(VAR),
        "WEB_ORIGINS": os.environ.get("WEB_ORIGINS", f"{base_url},http://localhost:{port}"),
        "PYTHONUNBUFFERED": "1",
    }
    write_atomically(VAR / "run" / "local.json", json.dumps(endpoints, indent=1))
    stack.callback((VAR / "run" / "local.json").unlink, missing_ok=True)
    manage(
        "local_prepare",
        f"--base-url={base_url}",
        f"--token-file={VAR / 'run' / 'demo-token'}",
        f"--pipeline-token-file={VAR / 'run' / 'pipeline-token'}",
        *(["--report-all"] if storage_incomplete else []),
        env=env,
    )
    running = children(base_url, port, env)
    stack.callback(stop_all, running)
    # The web server first, alone on the cores while it loads; the others once it answers
    # (tasks queued meanwhile wait in Redis).
    web, *others = running
    web.start()
    while not answers(f"{base_url}/api/health/"):
        if web.process and web.process.poll() is not None:
            break
        time.sleep(0.1)
    for child in others:
        child.start()
    print(f"Serving seqvault at {base_url} (Ctrl-C stops it; data stays in {VAR}).", flush=True)
    while True:
        for child in running:
            assert child.process is not None
            if (code := child.process.poll()) is not None:
                print(f"{child.name} exited with code {code}; stopping everything.", flush=True)
                return 1
        time.sleep(0.5)


def stop_once(signum: int, frame: FrameType | None) -> None:
    """The first Ctrl-C or SIGTERM starts the stop; more of them (a terminal's second Ctrl-C,
    `make` passing SIGTERM on beside the sender) must not interrupt it half-way."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_stop(signum, frame)


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    signal.signal(signal.SIGTERM, stop_once)
    signal.signal(signal.SIGINT, stop_once)
    (VAR / "run").mkdir(parents=True, exist_ok=True)
    previous = previous_run_state()
    if previous == "running":
        print(f"seqvault already runs on {VAR}; stop it first (Ctrl-C in its terminal).")
        return 1
    if listening(port):
        print(f"Port {port} is in use; choose another: PORT=9000 make run")
        return 1
    if previous == "unclean":
        print("The previous run did not stop cleanly (killed or crashed); checking what it left.")
    marker = VAR / "run" / "launcher.pid"
    write_atomically(marker, str(os.getpid()))
    code = 1
    try:
        with contextlib.ExitStack() as stack:
            try:
                code = serve(port, stack)
            except Stop:
                print("Stopping seqvault…", flush=True)
                code = 0
    except (subprocess.CalledProcessError, RuntimeError) as error:
        print(f"make run failed: {error}", file=sys.stderr)
    finally:
        marker.unlink(missing_ok=True)
    print("Stopped." if code == 0 else "Stopped after an error.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
