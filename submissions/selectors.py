"""Reads of entries for an actor. An entry is visible to its group (and curators and the
pipeline) until released, to everyone after; hidden and missing look the same."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from core.errors import NotFoundError
from core.types import AnyUser
from filesharing.models import File
from groups.models import Membership
from groups.permissions import user_is_curator, user_is_pipeline
from submissions.models import (
    Attachment,
    EntryFile,
    EntryQuerySet,
    PipelineVersion,
    ProcessedData,
    SequenceEntry,
)

ACCESSION_VERSION = re.compile(r"^(?P<accession>[A-Za-z0-9_]{1,32})\.(?P<version>\d{1,9})$")


def _member_groups(user: AnyUser) -> Q:
    """The user's groups as a subquery of ids: no join, so no duplicate rows to remove."""
    return Q(group_id__in=Membership.objects.filter(Q(user_id=user.pk)).values("group_id"))


def entry_queryset_for_user(*, user: AnyUser) -> EntryQuerySet:
    entries = SequenceEntry.objects.select_related("group", "submitter")
    if not user.is_authenticated:
        return entries.filter(released_at__isnull=False)
    if user_is_curator(user) or user_is_pipeline(user):
        return entries
    return entries.filter(Q(released_at__isnull=False) | _member_groups(user))


def entry_writable_queryset(*, user: AnyUser) -> QuerySet[SequenceEntry]:
    """Entries the user may revise, revoke or approve: its groups' (every group for curators)."""
    entries = SequenceEntry.objects.select_related("group", "submitter")
    if user_is_curator(user):
        return entries
    if not user.is_authenticated:
        return entries.none()
    return entries.filter(_member_groups(user))


def user_can_read_entry_group(*, user: AnyUser, entry: SequenceEntry) -> bool:
    """Whether the user sees the entry as its group does (submitted metadata, every file)."""
    readable = readable_group_ids(user=user)
    return readable is None or entry.group_id in readable


def readable_group_ids(*, user: AnyUser) -> frozenset[int] | None:
    """The groups whose unreleased entries the user reads; None means every group."""
    if not user.is_authenticated:
        return frozenset()
    if user_is_curator(user) or user_is_pipeline(user):
        return None
    memberships = Membership.objects.filter(user_id=user.pk).order_by()  # no join for the order
    return frozenset(memberships.values_list("group_id", flat=True))


def split_accession_version(text: str) -> tuple[str, int] | None:
    match = ACCESSION_VERSION.match(text.strip())
    if match is None:
        return None
    return match["accession"], int(match["version"])


def entry_latest_versions(
    *, queryset: QuerySet[SequenceEntry], accessions: Iterable[str]
) -> dict[str, SequenceEntry]:
    latest: dict[str, SequenceEntry] = {}
    for entry in queryset.filter(accession__in=list(accessions)).order_by("accession", "version"):
        latest[entry.accession] = entry
    return latest


@dataclass(frozen=True)
class EntryFilters:
    group_id: int | None = None
    status: str | None = None
    organism: str | None = None
    accession: str | None = None
    latest_only: bool = False


def entry_list_for_user(*, user: AnyUser, filters: EntryFilters) -> EntryQuerySet:
    entries = entry_queryset_for_user(user=user)
    if filters.group_id is not None:
        entries = entries.filter(group_id=filters.group_id)
    if filters.status:
        entries = entries.filter(status=filters.status)
    if filters.organism:
        entries = entries.filter(organism=filters.organism)
    if filters.accession:
        entries = entries.filter(accession=filters.accession)
    if filters.latest_only:
        newer = entry_queryset_for_user(user=user).filter(
            accession=OuterRef("accession"), version__gt=OuterRef("version")
        )
        entries = entries.exclude(Exists(newer))
    return with_details(entries).order_by("accession", "version")


def entry_get_for_user(*, accession_version: str, user: AnyUser) -> SequenceEntry:
    parts = split_accession_version(accession_version)
    if parts is None:
        raise NotFoundError("entry", accession_version)
    try:
        return with_details(entry_queryset_for_user(user=user)).get(
            accession=parts[0], version=parts[1]
        )
    except SequenceEntry.DoesNotExist:
        raise NotFoundError("entry", accession_version) from None


def with_details(entries: EntryQuerySet) -> EntryQuerySet:
    """With their attachments as plain rows (`SequenceEntry.attachment_rows`) and their
    processed data. The submitted sequences are not read: no answer about several entries
    shows them, and they can be the largest part of a row."""
    return (
        entries.with_attachments()
        .defer("sequences")
        .prefetch_related(
            Prefetch("processed", queryset=ProcessedData.objects.order_by("pipeline_version"))
        )
    )


def current_pipeline_versions() -> dict[str, int]:
    return dict(PipelineVersion.objects.values_list("organism", "version"))


def entry_displayed_processed(
    *, entry: SequenceEntry, current: int, public_only: bool
) -> ProcessedData | None:
    """The processed data shown for an entry: of the current pipeline version when there is
    some, else of the newest version; for the public only what was released."""
    rows = [
        row
        for row in entry.processed.all()
        if row.status == ProcessedData.Status.PROCESSED
        and (row.released_at is not None or not public_only)
    ]
    at_current = [row for row in rows if row.pipeline_version == current]
    if at_current:
        return at_current[0]
    return rows[-1] if rows else None


def entry_visible_files(
    *, entry: SequenceEntry, processed: ProcessedData | None, group_reader: bool
) -> list[Attachment]:
    """Submitted files for the group; the shown processed data's outputs. Others see only
    files that are released."""
    shown = [
        attachment
        for attachment in entry.attachment_rows()
        if attachment.kind == EntryFile.Kind.INPUT
        or (processed is not None and attachment.processed_data_id == processed.pk)
    ]
    if group_reader:
        return shown
    return [a for a in shown if a.file.released_at is not None or a.kind == EntryFile.Kind.OUTPUT]


def released_entries(*, organism: str | None) -> EntryQuerySet:
    entries = SequenceEntry.objects.filter(released_at__isnull=False).select_related("group")
    if organism:
        entries = entries.filter(organism=organism)
    return with_details(entries).order_by("accession", "version")


def entries_by_ids(*, entry_ids: list[int]) -> Iterator[SequenceEntry]:
    """Claimed entries in claim order, their submitted files prefetched, read in chunks."""
    inputs = EntryFile.objects.filter(kind=EntryFile.Kind.INPUT).select_related("file")
    for start in range(0, len(entry_ids), 500):
        chunk = entry_ids[start : start + 500]
        found = {
            entry.pk: entry
            for entry in SequenceEntry.objects.filter(pk__in=chunk)
            .select_related("group", "submitter")
            .prefetch_related(Prefetch("files", queryset=inputs))
        }
        yield from (found[pk] for pk in chunk if pk in found)


def file_ids_due_public() -> QuerySet[File]:
    """Files that must be public: outputs of processed data that was released."""
    return File.objects.filter(
        attachments__kind=EntryFile.Kind.OUTPUT,
        attachments__processed_data__released_at__isnull=False,
    ).distinct()


def entry_file_get_for_user(
    *, accession_version: str, category: str, name: str, user: AnyUser
) -> EntryFile:
    """The file an entry version shows the caller under category and name (Loculus's
    files/get); else the same NotFoundError whether it is missing or hidden."""
    entry = entry_get_for_user(accession_version=accession_version, user=user)
    group_reader = user_can_read_entry_group(user=user, entry=entry)
    processed = entry_displayed_processed(
        entry=entry,
        current=current_pipeline_versions().get(entry.organism, 1),
        public_only=not group_reader,
    )
    for attachment in entry_visible_files(
        entry=entry, processed=processed, group_reader=group_reader
    ):
        if attachment.category == category and attachment.name == name:
            return EntryFile.objects.select_related("file").get(pk=attachment.id)
    raise NotFoundError("file", f"{accession_version}/{category}/{name}")
