"""Refusals that name the rows and IDs at fault, in the message and in `details`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.errors import ApplicationError

MAX_LISTED = 20


def listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def refusal(
    code: str,
    summary: str,
    items: Sequence[str],
    *,
    status: int = 422,
    details: dict[str, Any] | None = None,
) -> ApplicationError:
    """`summary: a, b, c.` with every item in details["items"]."""
    return ApplicationError(
        code,
        f"{summary}: {listing(items)}.",
        status=status,
        details={"items": list(items), **(details or {})},
    )
