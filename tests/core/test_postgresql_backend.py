"""The PostgreSQL backend reads timestamps with psycopg's C loader: the same values, aware and
in UTC, as Django's own loader gives."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test import override_settings
from psycopg.pq import Format

from core.postgresql.base import _UtcTimestamptzLoader

pytestmark = pytest.mark.django_db

STAMPS = """SELECT now(), '2026-01-02 03:04:05.123456+00'::timestamptz,
    '2026-07-02 03:04:05+02'::timestamptz, '0001-01-01 00:00:00+00'::timestamptz,
    '9999-12-31 23:59:59.999999+00'::timestamptz, NULL::timestamptz"""


def _loader() -> type:
    connection.ensure_connection()
    return connection.connection.adapters.get_loader(1184, Format.TEXT)


def test_timestamps_read_as_djangos_loader_reads_them() -> None:
    assert _loader() is _UtcTimestamptzLoader
    with connection.cursor() as cursor:
        cursor.execute(STAMPS)
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor.cursor)  # Django's own, on this cursor only
        cursor.execute(STAMPS)
        django_read = cursor.fetchone()

    assert fast == django_read
    assert all(value.tzinfo is datetime.UTC for value in fast[:-1])
    assert fast[1:3] == (
        datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 7, 2, 1, 4, 5, tzinfo=datetime.UTC),
    )
    assert fast[-1] is None


@override_settings(TIME_ZONE="Europe/Zurich", USE_TZ=False)
def test_without_time_zones_django_reads_naive_local_times() -> None:
    """Another time zone: Django's cursors use their own loader again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-07-02 03:04:05+00'::timestamptz")
        [value] = cursor.fetchone()
    assert value == datetime.datetime(2026, 7, 2, 5, 4, 5)
    assert value.tzinfo is None
