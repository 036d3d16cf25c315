"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.converters import BIGINT_MAX


class IdField(serializers.IntegerField):
    """A database id in a body or a filter: 1 to 2**63 - 1, so that no out-of-range number
    reaches PostgreSQL."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)
