"""A realistic large database for benchmarks, written with COPY: 1,000,000 files in 1,000
groups by default, with the shape the service reaches in use.

Per group, of its files: 70 % verified and attached to its entries (those of released entries as
outputs of released processed data, and so released themselves: 20 % of all files), 2 %
orphaned (verified long ago, attached to nothing), 10 % verified recently and not yet attached,
10 % requested, 4 % failed and 4 % soft-deleted. Names come in several versions (60 % of a
group's files are the three versions of a fifth of its names). Users are in one group, a fifth
of them in a second; each group's first user is its admin. No S3 objects are made: benchmarks
that read bytes make their own.

Rows are added beside whatever the database holds (ids follow the current ones), then the
tables are analysed, so the planner sees their real size.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from argparse import ArgumentParser
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from filesharing.models import File
from groups.models import Group, Membership
from submissions.models import Accession, EntryFile, ProcessedData, SequenceEntry
from submissions.organisms import organism_get

ATTACHED, ORPHANED, RECENT, REQUESTED, FAILED, DELETED = range(6)
# Shares of a group's files, in thousandths, in the order above.
SHARES = (700, 20, 100, 100, 40, 40)
RELEASED_ENTRY_EVERY = (7, 2)  # entries e with e % 7 < 2 are released: 2/7 of 70 % = 20 %


@dataclass(frozen=True)
class Scale:
    files: int
    groups: int
    users: int
    entries: int
    seed: int


@dataclass
class Ids:
    """The first id of each table's new rows."""

    user: int
    group: int
    membership: int
    accession: int
    entry: int
    processed: int
    entry_file: int


def _next_id(model: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _copy(model: Any, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> int:
    table = model._meta.db_table
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _reset_sequence(model: Any) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )


class Seeder:
    def __init__(self, scale: Scale, now: datetime) -> None:
        self.scale = scale
        self.now = now
        self.ids = Ids(
            user=_next_id(get_user_model()),
            group=_next_id(Group),
            membership=_next_id(Membership),
            accession=_next_id(Accession),
            entry=_next_id(SequenceEntry),
            processed=_next_id(ProcessedData),
            entry_file=_next_id(EntryFile),
        )
        self.tag = f"{int(now.timestamp())}"
        self.files_per_group = scale.files // scale.groups
        self.entries_per_group = max(1, scale.entries // scale.groups)
        self.organism = organism_get(None)

    def users(self) -> int:
        rows = (
            (
                self.ids.user + i,
                "!",  # unusable password
                False,
                f"seed{self.tag}_{i}",
                "",
                "",
                f"seed{self.tag}_{i}@example.org",
                False,
                True,
                self.now,
            )
            for i in range(self.scale.users)
        )
        columns = [
            "id",
            "password",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ]
        return _copy(get_user_model(), columns, rows)

    def groups(self) -> int:
        rows = (
            (self.ids.group + g, f"seed{self.tag}-group-{g}", "Seeded", "", None, self.now)
            for g in range(self.scale.groups)
        )
        columns = ["id", "name", "institution", "contact_email", "quota_bytes", "created_at"]
        return _copy(Group, columns, rows)

    def member_of(self, user: int) -> list[int]:
        """Group indexes of user index `user`: one, a fifth of users a second."""
        first = user % self.scale.groups
        groups = [first]
        if user % 5 == 4 and self.scale.groups > 1:
            groups.append((first + 1 + user // self.scale.groups) % self.scale.groups)
        return sorted(set(groups))

    def memberships(self) -> int:
        def rows() -> Iterator[Sequence[Any]]:
            n = 0
            for user in range(self.scale.users):
                for g in self.member_of(user):
                    role = "admin" if user < self.scale.groups and g == user else "member"
                    yield (
                        self.ids.membership + n,
                        self.ids.group + g,
                        self.ids.user + user,
                        role,
                        self.now,
                    )
                    n += 1

        return _copy(Membership, ["id", "group_id", "user_id", "role", "created_at"], rows())

    def entry_released(self, e: int) -> bool:
        every, released = RELEASED_ENTRY_EVERY
        return e % every < released

    def entries(self) -> int:
        per = self.entries_per_group
        total = per * self.scale.groups
        _copy(
            Accession,
            ["id", "created_at"],
            ((self.ids.accession + i, self.now) for i in range(total)),
        )
        prefix = settings.ACCESSION_PREFIX

        def entry_rows() -> Iterator[Sequence[Any]]:
            for g in range(self.scale.groups):
                submitter = self.ids.user + g % self.scale.users
                for e in range(per):
                    i = g * per + e
                    released = self.entry_released(e)
                    yield (
                        self.ids.entry + i,
                        f"{prefix}{self.ids.accession + i:06d}",
                        1,
                        self.organism.name,
                        self.ids.group + g,
                        submitter,
                        f"sample-{g}-{e}",
                        self.now - timedelta(days=30),
                        Jsonb({"sampleId": f"sample-{g}-{e}"}),
                        Jsonb({}),
                        "APPROVED_FOR_RELEASE" if released else "PROCESSED",
                        False,
                        self.now - timedelta(days=20) if released else None,
                        submitter if released else None,
                    )

        columns = [
            "id",
            "accession",
            "version",
            "organism",
            "group_id",
            "submitter_id",
            "submission_id",
            "submitted_at",
            "metadata",
            "sequences",
            "status",
            "is_revocation",
            "released_at",
            "approver_id",
        ]
        count = _copy(SequenceEntry, columns, entry_rows())
        processed = (
            (
                self.ids.processed + i,
                self.ids.entry + i,
                1,
                "PROCESSED",
                Jsonb({}),
                Jsonb([]),
                Jsonb([]),
                self.now - timedelta(days=29),
                self.now - timedelta(days=29),
                self.now - timedelta(days=20) if self.entry_released(i % per) else None,
            )
            for i in range(total)
        )
        columns = [
            "id",
            "entry_id",
            "pipeline_version",
            "status",
            "metadata",
            "errors",
            "warnings",
            "started_at",
            "finished_at",
            "released_at",
        ]
        _copy(ProcessedData, columns, processed)
        return count

    def _roles(self, g: int) -> list[int]:
        per = self.files_per_group
        roles: list[int] = []
        for role, share in enumerate(SHARES):
            roles += [role] * (per * share // 1000)
        roles += [RECENT] * (per - len(roles))
        random.Random(self.scale.seed * 1_000_003 + g).shuffle(roles)
        return roles

    def _names(self) -> list[tuple[str, int]]:
        """(name, version) for a group's files, in upload order."""
        per = self.files_per_group
        versioned = per * 6 // 10 // 3
        names = []
        for version in (1, 2, 3):
            names += [(f"run{n:05d}.fastq.gz", version) for n in range(versioned)]
        names += [(f"sample{n:05d}.bam", 1) for n in range(per - len(names))]
        return names

    def files(self) -> tuple[int, int]:
        """Files and their attachments; answers (files, attachments)."""
        entry_files: list[tuple[int, int, int, str, uuid.UUID, int]] = []
        file_columns = [
            "id",
            "group_id",
            "uploader_id",
            "name",
            "version",
            "content_type",
            "declared_size",
            "declared_sha256",
            "status",
            "failure_reason",
            "size",
            "sha256",
            "etag",
            "md5",
            "declared_md5",
            "s3_version_id",
            "upload_requested_at",
            "upload_deadline",
            "verified_at",
            "expires_at",
            "released_at",
            "deleted_at",
            "is_latest",
            "attachment_count",
        ]
        started = self.now - timedelta(days=365)
        step = timedelta(days=360) / max(1, self.scale.files)

        def rows() -> Iterator[Sequence[Any]]:
            for g in range(self.scale.groups):
                roles = self._roles(g)
                names = self._names()
                users = [self.ids.user + u for u in range(g, self.scale.users, self.scale.groups)]
                users = users or [self.ids.user]
                newest_live: dict[str, int] = {}
                for j, (name, version) in enumerate(names):
                    if roles[j] != DELETED:
                        newest_live[name] = max(newest_live.get(name, 0), version)
                attached = 0
                for j, (name, version) in enumerate(names):
                    role = roles[j]
                    file_id = uuid.uuid4()
                    requested_at = started + step * (j * self.scale.groups + g)
                    digest = hashlib.sha256(file_id.bytes).hexdigest()
                    size = 10**6 + (j * 7919 + g) % 10**9
                    verified = role in (ATTACHED, ORPHANED, RECENT, DELETED)
                    verified_at = None
                    if verified:
                        verified_at = (
                            self.now - timedelta(days=1) if role == RECENT else requested_at
                        )
                    released_at = None
                    if role == ATTACHED:
                        e = attached * self.entries_per_group // max(1, roles.count(ATTACHED))
                        attached += 1
                        entry = self.ids.entry + g * self.entries_per_group + e
                        if self.entry_released(e):
                            released_at = self.now - timedelta(days=20)
                            processed = self.ids.processed + (entry - self.ids.entry)
                            entry_files.append((entry, processed, 1, "output", file_id, j))
                        else:
                            entry_files.append((entry, 0, 0, "input", file_id, j))
                    status = {REQUESTED: "requested", FAILED: "failed"}.get(role, "verified")
                    yield (
                        file_id,
                        self.ids.group + g,
                        users[j % len(users)],
                        name,
                        version,
                        "application/gzip",
                        size,
                        digest,
                        status,
                        "size differs from the declared one" if role == FAILED else "",
                        size if verified else None,
                        digest if verified else "",
                        digest[:32] if verified else "",
                        digest[:32] if verified else "",
                        "",
                        "",
                        requested_at,
                        self.now + timedelta(days=1) if role == REQUESTED else requested_at,
                        verified_at,
                        None,
                        released_at,
                        requested_at + timedelta(days=2) if role == DELETED else None,
                        role != DELETED and newest_live.get(name) == version,
                        1 if role == ATTACHED else 0,
                    )

        count = _copy(File, file_columns, rows())
        categories = self.organism
        input_category = next(iter(sorted(categories.input_category_names)), "raw_reads")
        output_category = next(iter(sorted(categories.output_category_names)), "reads")
        attachment_rows = (
            (
                self.ids.entry_file + n,
                entry,
                processed or None,
                kind,
                output_category if kind == "output" else input_category,
                f"file{j:05d}",
                file_id,
            )
            for n, (entry, processed, _, kind, file_id, j) in enumerate(entry_files)
        )
        columns = ["id", "entry_id", "processed_data_id", "kind", "category", "name", "file_id"]
        attachments = _copy(EntryFile, columns, attachment_rows)
        return count, attachments


class Command(BaseCommand):
    help = (
        "Seed the database with a large, realistic data set by COPY (default: 1,000,000 files "
        "in 1,000 groups, 10,000 users, 100,000 entries) for benchmarks. Adds to what is there."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--files", type=int, default=1_000_000)
        parser.add_argument("--groups", type=int, default=1_000)
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--entries", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1, help="Random seed of the shuffles.")

    def handle(self, *args: Any, **options: Any) -> None:
        scale = Scale(
            files=options["files"],
            groups=options["groups"],
            users=options["users"],
            entries=options["entries"],
            seed=options["seed"],
        )
        if min(scale.groups, scale.users, scale.entries) < 1 or scale.files < scale.groups:
            raise CommandError("Give at least one group, user and entry, and a file per group.")
        if connection.vendor != "postgresql":
            raise CommandError("The seed writes with PostgreSQL's COPY.")
        started = time.perf_counter()
        with transaction.atomic():
            # The rows are consistent by construction: skip the per-row foreign-key triggers
            # (checked at commit otherwise, a million times over), for this transaction only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            seeder = Seeder(scale, timezone.now())
            counts = {
                "users": seeder.users(),
                "groups": seeder.groups(),
                "memberships": seeder.memberships(),
                "entries": seeder.entries(),
            }
            counts["files"], counts["attachments"] = seeder.files()
            sequenced: tuple[Any, ...] = (
                get_user_model(),
                Group,
                Membership,
                Accession,
                SequenceEntry,
                ProcessedData,
                EntryFile,
            )
            for model in sequenced:
                _reset_sequence(model)
        with connection.cursor() as cursor:
            analysed: tuple[Any, ...] = (
                File,
                EntryFile,
                SequenceEntry,
                ProcessedData,
                Membership,
                Group,
            )
            for table_model in analysed:
                cursor.execute(f"ANALYZE {table_model._meta.db_table}")
            cursor.execute(f"ANALYZE {get_user_model()._meta.db_table}")
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.stdout.write(f"seeded {summary} in {elapsed:.1f} s (prefix seed{seeder.tag})")
