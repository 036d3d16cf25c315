"""Path converters for database integers: a number beyond the column's range matches no URL
(404) instead of reaching PostgreSQL as an out-of-range query (500)."""

from __future__ import annotations

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1
INTEGER_MAX = 2**31 - 1


class _BoundedIntConverter:
    regex = "[0-9]{1,19}"
    maximum = BIGINT_MAX

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.maximum:
            raise ValueError(f"{value} is out of range")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class IdConverter(_BoundedIntConverter):
    """`<id:group_id>`: a bigint primary key."""


class SmallIntConverter(_BoundedIntConverter):
    """`<int32:version>`: a version or part number (PostgreSQL integer)."""

    regex = "[0-9]{1,10}"
    maximum = INTEGER_MAX


def register() -> None:
    register_converter(IdConverter, "id")
    register_converter(SmallIntConverter, "int32")


# drf-spectacular's PATH_CONVERTER_OVERRIDE: the schema states the same bounds.
SCHEMA_OVERRIDES = {
    "id": {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX},
    "int32": {"type": "integer", "minimum": 0, "maximum": INTEGER_MAX},
}
