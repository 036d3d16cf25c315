"""`completed_by` and `expires_in` as ArtifactDB clients write them: "in 10 minutes",
"in 2 days", or a date ("2020-12-31 12:59:59", ISO 8601; UTC when no zone is given)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings

from core.errors import ApplicationError

_UNITS = {
    "second": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "min": 60,
    "m": 60,
    "hour": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
    "week": 7 * 86400,
    "w": 7 * 86400,
}
_RELATIVE = re.compile(
    r"^(?:in\s+)?(?P<amount>\d+(?:\.\d+)?|an?)\s*(?P<unit>[a-z]+?)s?$", re.IGNORECASE
)
FORMS = '"in 10 minutes", "in 2 days", or a date such as "2020-12-31 12:59:59"'
# Nothing sensible lies beyond this; it also keeps datetime arithmetic in range.
_FURTHEST = timedelta(days=100 * 366)


def parse_moment(text: str, *, now: datetime, field: str) -> datetime:
    """The instant `text` names, relative to `now`; 400 for anything else."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative is not None and relative["unit"].lower() in _UNITS:
        amount = relative["amount"].lower()
        count = 1.0 if amount in {"a", "an"} else float(amount)
        seconds = count * _UNITS[relative["unit"].lower()]
        if seconds > _FURTHEST.total_seconds():
            raise _invalid(field, text)
        return now + timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(field, text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment - now > _FURTHEST:
        raise _invalid(field, text)
    return moment


def _invalid(field: str, text: str) -> ApplicationError:
    return ApplicationError(
        f"invalid_{field}",
        f"{field} {text!r} is not a moment this API reads; write {FORMS}.",
        details={"field": field, "value": text},
    )


def upload_deadline(text: str | None, *, now: datetime) -> datetime:
    """`completed_by`, clamped to PROJECT_UPLOAD_MIN_DEADLINE..MAX (default: the default)."""
    if not text:
        return now + settings.PROJECT_UPLOAD_DEFAULT_DEADLINE
    moment = parse_moment(text, now=now, field="completed_by")
    earliest = now + settings.PROJECT_UPLOAD_MIN_DEADLINE
    latest = now + settings.PROJECT_UPLOAD_MAX_DEADLINE
    return min(max(moment, earliest), latest)


def expiry(text: str | None, *, now: datetime, deadline: datetime) -> datetime | None:
    """`expires_in`: when a transient version is removed; after the upload deadline."""
    if not text:
        return None
    moment = parse_moment(text, now=now, field="expires_in")
    if moment <= deadline:
        raise ApplicationError(
            "invalid_expires_in",
            f"expires_in ({moment.isoformat()}) must come after completed_by "
            f"({deadline.isoformat()}).",
            details={"expires_in": moment.isoformat(), "completed_by": deadline.isoformat()},
        )
    return moment
