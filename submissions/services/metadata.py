"""Submitted metadata against the organism's JSON Schema.

TSV cells are text; a cell whose property the schema types as integer, number or boolean is
read as that type first, so `hostAge: 42` validates as the integer it means. A cell that does
not read as its type stays text and the schema reports it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from submissions.errors import refusal
from submissions.organisms import Organism
from submissions.parsing import SubmittedRow

_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def metadata_validated(*, organism: Organism, rows: list[SubmittedRow]) -> list[dict[str, Any]]:
    """Each row's metadata, typed; every problem of every row in one `invalid_metadata`."""
    properties = organism.metadata_schema.get("properties", {})
    typed = [
        {name: _typed(value, properties.get(name)) for name, value in row.metadata.items()}
        for row in rows
    ]
    problems = [
        f"{row.label}: {_where(error.absolute_path)}{error.message}"
        for row, metadata in zip(rows, typed, strict=True)
        for error in sorted(organism.validator.iter_errors(metadata), key=lambda e: e.message)
    ]
    if problems:
        raise refusal(
            "invalid_metadata",
            f"Metadata does not fit the schema of organism {organism.name}",
            problems,
        )
    return typed


def _where(path: Any) -> str:
    parts = [str(part) for part in path]
    return f"{'/'.join(parts)}: " if parts else ""


def _typed(value: str, schema: Any) -> Any:
    types = schema.get("type") if isinstance(schema, dict) else None
    for kind in [types] if isinstance(types, str) else (types or []):
        if kind == "integer" and _INTEGER.match(value):
            return int(value)
        if kind == "number":
            if _INTEGER.match(value):
                return int(value)
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number):  # "nan" and "inf" stay text: JSON has no such numbers
                return number
        if kind == "boolean" and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if kind == "string":
            return value
    return value
