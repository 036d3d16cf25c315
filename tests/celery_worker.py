"""A real Celery worker for the tests about tasks: a subprocess against Redis and the test
database, as production runs one.

    @pytest.mark.django_db(transaction=True)
    def test_something(tmp_path):
        with celery_worker(tmp_path) as worker:
            ...  # tasks queued on commit now go to the worker
            worker.kill()  # a crash, mid-task if one is running

The worker reads the test database (`connection.settings_dict["NAME"]`), so the test must
commit: `transaction=True`. It gets its own queue on the broker, so workers of tests running
in parallel never take each other's tasks, and the S3 endpoint the test's STORAGES point at.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection

from config import celery_app

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 90.0  # a worker imports Django: slow on a busy machine


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    queue: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        wait_until(lambda: text in self.log(), timeout=timeout, what=f"{text!r} in the log")

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it: no cleanup, no ack."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "the condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {timeout:.0f} s for {what}.")
        time.sleep(0.05)


def worker_command(queue: str, *pool: str) -> list[str]:
    """A worker that takes only `queue` and talks to no other worker."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        *pool,
        f"--queues={queue}",
        f"--hostname={queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def _worker_env(queue: str) -> dict[str, str]:
    storage = settings.STORAGES["files"]["OPTIONS"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # Tasks that the worker's own tasks queue (ETAs, follow-ups) stay on its queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "S3_ENDPOINT_URL": storage["endpoint_url"] or "",
        "S3_BUCKET": storage["bucket_name"],
        "ORGANISMS_CONFIG": str(settings.ORGANISMS_CONFIG),
        "PYTHONUNBUFFERED": "1",
    }
    if storage.get("access_key"):
        env["S3_ACCESS_KEY_ID"] = storage["access_key"]
        env["S3_SECRET_ACCESS_KEY"] = storage["secret_key"]
    return env


def _reset_producers() -> None:
    # The app keeps its producer and connection pools with the broker settings they were made
    # with; forgetting them makes the next publish follow the current configuration. They are
    # not closed: kombu shares them between apps by connection parameters.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _forget_queue(queue: str) -> None:
    """Remove the queue, its bindings, and the unacknowledged messages a killed worker left."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, raw in broker.hgetall("unacked").items():
        with contextlib.suppress(ValueError, IndexError, TypeError):
            if json.loads(raw)[2] == queue:
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)
    broker.close()


@contextlib.contextmanager
def celery_worker(tmp_path: Path) -> Iterator[Worker]:
    """Start a worker on a queue of its own; while it runs, this process queues tasks for it
    instead of running them inline."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / f"worker-{queue}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            worker_command(queue, "--pool=solo"),
            cwd=ROOT,
            env=_worker_env(queue),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() ends it and its children
        )
    worker = Worker(process=process, queue=queue, log_path=log_path)
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.task_default_queue)
    try:
        wait_until(
            lambda: " ready." in worker.log() or process.poll() is not None,
            timeout=READY_TIMEOUT,
            what="the worker to start",
        )
        if process.poll() is not None:
            raise AssertionError(f"The worker exited at start:\n{worker.log()}")
        conf.task_always_eager = False
        conf.broker_url = settings.CELERY_BROKER_URL
        conf.task_default_queue = queue
        _reset_producers()
        yield worker
    finally:
        conf.task_always_eager, conf.broker_url, conf.task_default_queue = saved
        _reset_producers()
        worker.stop()
        _forget_queue(queue)
