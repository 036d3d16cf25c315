"""Outages a test can cause on services of its own: an S3 emulator it may stop or freeze, and a
Redis it may stop, freeze and start again on the same port. The shared S3 and Redis of the suite
are never touched (other tests, and other suites, use them)."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from devtools.s3_emulator import Emulator, start_emulator
from filesharing import s3
from tests.celery_worker import wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[Emulator]:
    """An S3 emulator of this test's own, that it may freeze or stop, with the storage pointed
    at it."""
    emulator = start_emulator(ROOT, tmp_path / "s3")
    storages = copy.deepcopy(settings.STORAGES)
    storages["files"]["OPTIONS"]["endpoint_url"] = emulator.endpoint_url
    try:
        with override_settings(STORAGES=storages):
            s3.bucket_setup(web_origins=[])
            yield emulator
    finally:
        resume(emulator)
        emulator.stop()


def freeze(emulator: Emulator) -> None:
    """S3 stops answering: connections open, no reply ever comes."""
    os.killpg(emulator.pid, signal.SIGSTOP)


def resume(emulator: Emulator) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(emulator.pid, signal.SIGCONT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server of the test's own on a free loopback port, kept in memory only."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="redis-server to start")

    def _answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            # Killed as it is: a frozen server resumed first would briefly serve what was sent
            # to it while frozen (a queued task reaching a worker) before it died.
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
