"""Reads of the public pages: released entries searched by organism and metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast

from core.types import AnyUser
from filesharing.models import File
from submissions.models import EntryFile, SequenceEntry
from submissions.organisms import Organism
from submissions.selectors import (
    entry_displayed_processed,
    entry_queryset_for_user,
    released_entries,
)

# A metadata field as it may appear in a lookup path: no "__", which would start a new lookup.
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class ReleasedSearch:
    organism: Organism | None = None
    text: str = ""  # in the accession or any released metadata value
    field: str = ""  # a field of the released (processed) metadata
    value: str = ""  # … whose value contains this
    all_versions: bool = False


def released_search(*, search: ReleasedSearch) -> QuerySet[SequenceEntry]:
    """Released entry versions matching the search; only released processed data is searched,
    as only that is public."""
    entries = released_entries(organism=search.organism.name if search.organism else None)
    condition = Q(processed__released_at__isnull=False)
    if search.text:
        condition &= Q(accession__icontains=search.text) | Q(metadata_text__icontains=search.text)
    if search.field and search.value and FIELD_NAME.fullmatch(search.field):
        condition &= Q(**{f"processed__metadata__{search.field}__icontains": search.value})
    if search.text or search.field:
        entries = entries.filter(
            pk__in=SequenceEntry.objects.filter(released_at__isnull=False)
            .annotate(metadata_text=Cast("processed__metadata", TextField()))
            .filter(condition)
            .values("pk")
        )
    if not search.all_versions:
        newer = SequenceEntry.objects.filter(
            accession=OuterRef("accession"),
            version__gt=OuterRef("version"),
            released_at__isnull=False,
        )
        entries = entries.exclude(Exists(newer))
    return entries.order_by("-released_at", "accession", "-version")


@dataclass(frozen=True)
class ManifestLine:
    accession_version: str
    organism: str
    category: str
    name: str
    file_id: str
    size: int | None
    sha256: str
    md5: str = ""


def manifest_lines(
    *, entries: QuerySet[SequenceEntry], current: dict[str, int]
) -> Iterator[ManifestLine]:
    """The public files of each entry: outputs of its released processed data."""
    for entry in entries.iterator(chunk_size=200):
        processed = entry_displayed_processed(
            entry=entry, current=current.get(entry.organism, 1), public_only=True
        )
        if processed is None:
            continue
        for attachment in entry.attachment_rows():
            if (
                attachment.kind != EntryFile.Kind.OUTPUT
                or attachment.processed_data_id != processed.pk
                or attachment.file.released_at is None
            ):
                continue
            yield ManifestLine(
                accession_version=entry.accession_version,
                organism=entry.organism,
                category=attachment.category,
                name=attachment.name,
                file_id=str(attachment.file_id),
                size=attachment.file.size,
                sha256=attachment.file.sha256,
                md5=attachment.file.md5,
            )


def released_entry_ids(*, accession_versions: list[str]) -> list[int]:
    """The released entry versions among `ACC.VER` texts; others are left out silently."""
    pairs = set()
    for text in accession_versions:
        accession, _, version = text.strip().rpartition(".")
        if accession and version.isdigit():
            pairs.add((accession, int(version)))
    if not pairs:
        return []
    found = SequenceEntry.objects.filter(
        accession__in={accession for accession, _ in pairs}, released_at__isnull=False
    ).values_list("pk", "accession", "version")
    return [pk for pk, accession, version in found if (accession, version) in pairs]


def file_attachments_for_user(*, file: File, user: AnyUser) -> QuerySet[EntryFile]:
    """Where a file is used: the entry versions the user may see that cite it."""
    visible = entry_queryset_for_user(user=user).values("pk")
    return (
        EntryFile.objects.filter(file=file, entry__in=visible)
        .select_related("entry")
        .order_by("entry__accession", "entry__version", "kind", "category")
    )
