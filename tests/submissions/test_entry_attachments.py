"""Entries read with their attachments as plain rows: one query for all the entries read,
whether as a list, by `get` or chunk by chunk from `iterator`, and what each row shows of its
file is the file's own."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from submissions.models import EntryFile, SequenceEntry
from submissions.selectors import released_entries, with_details
from tests.factories import FileFactory, GroupFactory, processed_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries() -> list[SequenceEntry]:
    group = GroupFactory()
    made = []
    for i in range(5):
        entry, processed = processed_entry(group, f"SV{i:06d}", released=True)
        reads = FileFactory(group=group, status="verified", size=10 + i, sha256=f"{i:064x}")
        output = FileFactory(
            group=group, status="verified", size=100 + i, sha256=f"{i + 50:064x}",
            released_at=timezone.now(),
        )  # fmt: skip
        EntryFile.objects.create(entry=entry, kind="input", category="raw", name="b", file=reads)
        EntryFile.objects.create(
            entry=entry, kind="output", category="raw", name="a", file=output,
            processed_data=processed,
        )  # fmt: skip
        made.append(entry)
    return made


def _rows(entry: SequenceEntry) -> list[tuple[Any, ...]]:
    return [
        (a.kind, a.category, a.name, a.file_id, a.file.size, a.file.sha256, a.file.key)
        for a in entry.attachment_rows()
    ]


def _expected(entry: SequenceEntry) -> list[tuple[Any, ...]]:
    return [
        (a.kind, a.category, a.name, a.file_id, a.file.size, a.file.sha256, a.file.key)
        for a in EntryFile.objects.filter(entry=entry).select_related("file").order_by("kind")
    ]


def test_a_list_reads_every_entrys_attachments_in_one_query(entries: list[SequenceEntry]) -> None:
    with CaptureQueriesContext(connection) as queries:
        read = list(with_details(SequenceEntry.objects.order_by("accession")))
        shown = [_rows(entry) for entry in read]

    assert [q["sql"].count('FROM "submissions_entryfile"') for q in queries] == [0, 0, 1]
    assert shown == [_expected(entry) for entry in entries]
    assert [row[0] for row in shown[0]] == ["input", "output"]  # by kind, category, name


def test_an_iterator_reads_attachments_once_per_chunk(entries: list[SequenceEntry]) -> None:
    with CaptureQueriesContext(connection) as queries:
        shown = [_rows(entry) for entry in released_entries(organism=None).iterator(chunk_size=2)]

    reads = [q for q in queries if 'FROM "submissions_entryfile"' in q["sql"]]
    assert len(reads) == 3  # chunks of 2, 2 and 1
    assert shown == [_expected(entry) for entry in entries]


def test_get_reads_the_entrys_attachments_and_an_entry_read_alone_reads_its_own(
    entries: list[SequenceEntry],
) -> None:
    got = with_details(SequenceEntry.objects.all()).get(pk=entries[2].pk)
    assert _rows(got) == _expected(entries[2])

    plain = SequenceEntry.objects.get(pk=entries[3].pk)
    with CaptureQueriesContext(connection) as queries:
        first, again = _rows(plain), _rows(plain)
    assert first == again == _expected(entries[3])
    assert len(queries) == 1


def test_values_of_entries_are_not_given_attachments(entries: list[SequenceEntry]) -> None:
    with CaptureQueriesContext(connection) as queries:
        accessions = list(with_details(SequenceEntry.objects.all()).values_list("accession"))
    assert len(accessions) == 5
    assert not any('FROM "submissions_entryfile"' in q["sql"] for q in queries)


def test_refreshing_an_entry_forgets_the_attachments_it_read(entries: list[SequenceEntry]) -> None:
    entry = SequenceEntry.objects.get(pk=entries[0].pk)
    assert len(entry.attachment_rows()) == 2
    EntryFile.objects.filter(entry=entry, kind="input").delete()

    entry.refresh_from_db()

    assert [a.kind for a in entry.attachment_rows()] == ["output"]
