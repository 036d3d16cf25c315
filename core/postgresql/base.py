"""Django's PostgreSQL backend, with timestamps read at the speed of psycopg's C code.

Django reads `timestamptz` values through a loader of its own, a subclass of psycopg's
pure-Python one, so that every value gets the connection's time zone; a page of 100 files
holds some 600 of them. With USE_TZ the connection's time zone is UTC, and psycopg's C
loader already answers `datetime.timezone.utc` for it: the same values, about four times
faster. Used only where both hold (UTC, and psycopg's C module present); otherwise this is
Django's backend unchanged.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.backends.postgresql import base
from psycopg import _cmodule
from psycopg.adapt import Loader


class _UtcTimestamptzLoader(Loader):
    """Carries the `timezone` that Django's cursors compare with theirs; loads in C."""

    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        c_loader = _cmodule._psycopg.TimestamptzLoader(oid, context)
        self.load = c_loader.load  # type: ignore[method-assign]

    def load(self, data: Any) -> datetime.datetime:  # replaced by the C loader's, per instance
        raise NotImplementedError


class DatabaseWrapper(base.DatabaseWrapper):
    def init_connection_state(self) -> None:
        super().init_connection_state()  # sets the connection's time zone
        connection = self.connection
        if (
            connection is not None
            and _cmodule._psycopg is not None
            and self.timezone is datetime.UTC
            and connection.info.parameter_status("TimeZone") == "UTC"
        ):
            connection.adapters.register_loader("timestamptz", _UtcTimestamptzLoader)
