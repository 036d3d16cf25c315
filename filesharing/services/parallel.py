"""Many S3 requests at once, for work that checks many objects (verification, reconciliation).

Only S3 calls belong in these threads: a thread has its own database connection, which does not
see the caller's uncommitted transaction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings

In = TypeVar("In")
Out = TypeVar("Out")

_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """One long-lived pool per process: S3 connections are per thread, so threads that live on
    keep theirs. Recreated after a fork, whose child inherits no running threads."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            pool = ThreadPoolExecutor(
                max_workers=settings.S3_PARALLEL_REQUESTS, thread_name_prefix="s3"
            )
            _pool = (os.getpid(), pool)
        return _pool[1]


def s3_map(function: Callable[[In], Out], items: Iterable[In]) -> list[Out]:
    """`function` applied to every item in the pool, results in order; the first exception
    raised by any call is raised here."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    return list(_executor().map(function, items))
