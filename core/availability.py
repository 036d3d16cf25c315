"""What is known to be down right now (the object store, the task broker), remembered for a few
seconds in the shared cache so that every process answers at once instead of each waiting for
its own timeout. The cache may itself be down (it often lives on the broker's Redis): then each
process remembers on its own, and no call here ever raises or waits longer than the cache's
socket timeout."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# part key -> monotonic time until which it is known down, for when the cache is down too
_local_down: dict[str, float] = {}
# Monotonic time until which this process leaves the cache alone after it failed.
_cache_broken_until = 0.0
CACHE_RETRY_AFTER = 5.0


def _key(part: str, target: str) -> str:
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return f"availability:{settings.CACHE_NAMESPACE}:{part}:{digest}"


def _cache_usable() -> bool:
    return time.monotonic() >= _cache_broken_until


def _cache_failed(exc: Exception) -> None:
    global _cache_broken_until
    _cache_broken_until = time.monotonic() + CACHE_RETRY_AFTER
    logger.warning("The cache is unavailable (%s); remembering outages in this process.", exc)


def mark_down(part: str, target: str, *, seconds: float | None = None) -> None:
    """`part` ("storage", "broker") at `target` (its endpoint) failed: remember it a while."""
    ttl = seconds if seconds is not None else settings.OUTAGE_MEMO_SECONDS
    if ttl <= 0:
        return
    key = _key(part, target)
    with _lock:
        _local_down[key] = time.monotonic() + ttl
    if _cache_usable():
        try:
            cache.set(key, 1, timeout=ttl)
        except Exception as exc:
            _cache_failed(exc)


def mark_up(part: str, target: str) -> None:
    key = _key(part, target)
    with _lock:
        _local_down.pop(key, None)
    if _cache_usable():
        try:
            cache.delete(key)
        except Exception as exc:
            _cache_failed(exc)


def known_down(part: str, target: str) -> bool:
    key = _key(part, target)
    if _cache_usable():
        try:
            return bool(cache.get(key))
        except Exception as exc:
            _cache_failed(exc)
    with _lock:
        until = _local_down.get(key)
        if until is not None and until <= time.monotonic():
            _local_down.pop(key, None)
            until = None
    return until is not None
