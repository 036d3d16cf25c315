"""The latest-version flag (`File.is_latest`) and version numbers, kept without reading every
version of a name.

Every change that adds, hides or brings back a file runs under its group's row lock (taken by
`groups_lock`), so the flag and the version numbers of one group change one request at a time.
Lock order everywhere: groups (by id), then files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection

from filesharing.models import File
from groups.models import Group


def groups_lock(group_ids: Iterable[int]) -> None:
    """Lock the groups' rows, in id order (callers inside a transaction)."""
    ids = sorted(set(group_ids))
    if ids:
        list(Group.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))


def latest_version_numbers(*, group_id: int, names: Sequence[str]) -> dict[str, int]:
    """The highest version number of each name, deleted versions included (numbers are never
    reused): one index probe per name on (group, name, version), however many versions exist."""
    wanted = sorted({name for name in names if name})
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT wanted.name, top.version
            FROM unnest(%s::text[]) AS wanted(name)
            CROSS JOIN LATERAL (
                SELECT version FROM filesharing_file
                WHERE group_id = %s AND name = wanted.name
                ORDER BY version DESC LIMIT 1
            ) AS top
            """,
            [wanted, group_id],
        )
        return dict(cursor.fetchall())


def files_supersede(*, group_id: int, names: Sequence[str]) -> None:
    """The current latest versions of these names stop being latest (new versions follow)."""
    wanted = sorted({name for name in names if name})
    if wanted:
        # One array parameter rather than a thousand: the statement is parsed and planned once.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE filesharing_file SET is_latest = false"
                " WHERE group_id = %s AND name = ANY(%s) AND is_latest",
                [group_id, wanted],
            )


def files_refresh_latest(*, files: Iterable[File]) -> None:
    """Recompute the flag for the names of these files after some were hidden or brought back:
    the newest live version of each name is latest; a live unnamed file is its own latest."""
    unnamed: list[object] = []
    named: dict[int, set[str]] = {}
    for file in files:
        if file.name:
            named.setdefault(file.group_id, set()).add(file.name)
        else:
            unnamed.append(file.pk)
    if unnamed:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE filesharing_file SET is_latest = (deleted_at IS NULL) WHERE id = ANY(%s)",
                [unnamed],
            )
    for group_id, names in named.items():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE filesharing_file AS f SET is_latest = (f.id IS NOT DISTINCT FROM newest.id)
                FROM unnest(%s::text[]) AS wanted(name)
                LEFT JOIN LATERAL (
                    SELECT id FROM filesharing_file
                    WHERE group_id = %s AND name = wanted.name AND deleted_at IS NULL
                    ORDER BY version DESC LIMIT 1
                ) AS newest ON true
                WHERE f.group_id = %s AND f.name = wanted.name
                  AND f.is_latest IS DISTINCT FROM (f.id IS NOT DISTINCT FROM newest.id)
                """,
                [sorted(names), group_id, group_id],
            )
