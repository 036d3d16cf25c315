"""JSON as the database can store it: no NaN or infinities, no lone surrogates, bounded depth.

PostgreSQL's jsonb refuses `NaN` and `Infinity`, and UTF-8 cannot encode a lone surrogate
(`"\\ud800"`), so a document with either fails only when it is saved, as a 500. Python's parser
recurses once per level and a document nested thousands deep exhausts the stack. Every JSON
document taken from a client goes through `loads`, which refuses all three with a stable code.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from core.errors import ApplicationError

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ApplicationError):
    """Valid JSON text that we will not store; `code` says why."""


def _not_finite(text: str) -> float:
    raise JsonRefused(
        "number_not_finite", f"JSON number {text} is not finite; NaN and infinities are refused."
    )


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        _not_finite(text)
    return number


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def check_text(text: str, *, where: str = "The request") -> None:
    if has_surrogate(text):
        raise JsonRefused(
            "invalid_unicode", f"{where} holds a lone UTF-16 surrogate, which is not text."
        )


def check_document(document: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Walk the document without recursion: depth, and every key and string."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise JsonRefused(
                "json_too_deep", f"JSON nested deeper than {max_depth} levels is refused."
            )
        if isinstance(value, dict):
            for key, item in value.items():
                check_text(key)
                pending.append((item, depth + 1))
        else:
            pending.extend((item, depth + 1) for item in value)


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse like `json.loads`; ValueError for text that is not JSON, JsonRefused for JSON we
    refuse to keep."""
    try:
        document = json.loads(text, parse_constant=_not_finite, parse_float=_float)
    except RecursionError:
        raise JsonRefused(
            "json_too_deep", f"JSON nested deeper than {max_depth} levels is refused."
        ) from None
    check_document(document, max_depth=max_depth)
    return document
