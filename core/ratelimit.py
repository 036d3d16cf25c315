"""Rate limits counted in the shared cache (Redis), so that they hold across every web process:
fixed windows of `count` events per `seconds`, keyed by what is limited (a token, a user, a
client address). Over the limit, callers answer 429 with Retry-After (the seconds until the
window ends). When the cache is down the limits are not enforced: an outage of Redis must not
lock everyone out.

Settings (docs/operations.md, "Rate limits"): RATE_LIMIT_WRITES, RATE_LIMIT_SIGN_IN,
RATE_LIMIT_FAILED_AUTH_PER_ADDRESS; each "<count>/<second|minute|hour|day>" or "" (off)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate | None:
    """ "600/minute" (or /second, /hour, /day, their first letters, or a number of seconds);
    empty or a zero count: no limit."""
    if not text or not text.strip():
        return None
    count_text, _, period = text.strip().partition("/")
    count = int(count_text)
    period = period.strip().lower() or "s"
    seconds = int(period) if period.isdigit() else PERIODS[period[0]]
    if count <= 0:
        return None
    return Rate(count=count, seconds=seconds)


def _key(scope: str, subject: str, rate: Rate, now: float) -> tuple[str, int]:
    window = int(now // rate.seconds)
    digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
    namespace = settings.CACHE_NAMESPACE
    retry_after = max(1, math.ceil((window + 1) * rate.seconds - now))
    return f"ratelimit:{namespace}:{scope}:{digest}:{window}", retry_after


def rate_limit_hit(*, scope: str, subject: str, rate: Rate | None) -> int | None:
    """Count one event; answers the seconds to wait when this one is over the rate."""
    if rate is None:
        return None
    key, retry_after = _key(scope, subject, rate, time.time())
    try:
        if cache.add(key, 1, timeout=rate.seconds + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=rate.seconds + 1)
                count = 1
    except Exception as exc:
        logger.warning("Rate limit %s not enforced: the cache is unavailable (%s).", scope, exc)
        return None
    return retry_after if count > rate.count else None


def rate_limit_reached(*, scope: str, subject: str, rate: Rate | None) -> int | None:
    """Without counting: the seconds to wait when the rate is used up already."""
    if rate is None:
        return None
    key, retry_after = _key(scope, subject, rate, time.time())
    try:
        count = int(cache.get(key) or 0)
    except Exception as exc:
        logger.warning("Rate limit %s not enforced: the cache is unavailable (%s).", scope, exc)
        return None
    return retry_after if count >= rate.count else None


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or the first address of the header a trusted proxy
    sets (RATE_LIMIT_CLIENT_IP_HEADER, e.g. HTTP_X_FORWARDED_FOR)."""
    header = settings.RATE_LIMIT_CLIENT_IP_HEADER
    if header and request.META.get(header):
        return str(request.META[header]).split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))
