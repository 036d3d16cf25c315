"""Submit new entries and revise released ones, with files attached by ID."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from core.audit import audit_events_bulk
from core.errors import ApplicationError
from groups.models import Group
from groups.permissions import membership_role, user_is_curator
from submissions.errors import refusal
from submissions.models import Accession, EntryFile, SequenceEntry, accession_code
from submissions.organisms import Organism
from submissions.parsing import SubmittedRow
from submissions.selectors import entry_latest_versions, entry_writable_queryset
from submissions.services.attachments import (
    CitedFile,
    check_citation_names,
    check_locked_files,
    files_for_citations,
)
from submissions.services.metadata import metadata_validated

Status = SequenceEntry.Status
BEING_PROCESSED = (Status.RECEIVED, Status.IN_PROCESSING)


def user_can_submit_for(*, user: User, group: Group) -> bool:
    return user_is_curator(user) or membership_role(user=user, group=group) is not None


def entries_submit(
    *, user: User, group: Group, organism: Organism, rows: list[SubmittedRow]
) -> list[SequenceEntry]:
    """Version 1 of a new entry per row, its files attached; all rows or none."""
    if not user_can_submit_for(user=user, group=group):
        raise ApplicationError("group_not_found", f"No group {group.pk}.", status=404)
    metadata = metadata_validated(organism=organism, rows=rows)
    cited = [
        CitedFile(f"Submission {row.submission_id} (row {row.line})", group, organism, citation)
        for row in rows
        for citation in row.files
    ]
    check_citation_names(cited, output=False)
    files = files_for_citations(cited, actor=user)
    with transaction.atomic():
        check_locked_files(files)
        accessions = Accession.objects.bulk_create([Accession() for _ in rows])
        entries = [
            SequenceEntry(
                accession=accession_code(accession.pk),
                version=1,
                organism=organism.name,
                group=group,
                submitter=user,
                submission_id=row.submission_id,
                metadata=row_metadata,
                sequences=row.sequences,
            )
            for accession, row, row_metadata in zip(accessions, rows, metadata, strict=True)
        ]
        _store(entries, rows, user=user, action="entry.submitted")
    return entries


def entries_revise(
    *, user: User, organism: Organism, rows: list[SubmittedRow]
) -> list[SequenceEntry]:
    """A new version of each cited entry; files of earlier versions may be cited again (the
    same file, no copy) and new ones added. All rows or none."""
    latest = _latest_versions(user=user, organism=organism, rows=rows)
    metadata = metadata_validated(organism=organism, rows=rows)
    cited = [
        CitedFile(
            f"Accession {row.accession} (row {row.line})",
            latest[row.accession or ""].group,
            organism,
            citation,
        )
        for row in rows
        for citation in row.files
    ]
    check_citation_names(cited, output=False)
    files = files_for_citations(cited, actor=user)
    with transaction.atomic():
        locked = {
            entry.accession: entry
            for entry in SequenceEntry.objects.select_for_update().filter(
                pk__in=[entry.pk for entry in latest.values()]
            )
        }
        newest = dict(
            SequenceEntry.objects.filter(accession__in=list(locked))
            .values("accession")
            .annotate(newest=Max("version"))
            .values_list("accession", "newest")
        )
        _refuse_changed_meanwhile(locked, newest)
        check_locked_files(files)
        entries = [
            SequenceEntry(
                accession=row.accession or "",
                version=locked[row.accession or ""].version + 1,
                organism=organism.name,
                group=locked[row.accession or ""].group,
                submitter=user,
                submission_id=row.submission_id,
                metadata=row_metadata,
                sequences=row.sequences,
            )
            for row, row_metadata in zip(rows, metadata, strict=True)
        ]
        _store(entries, rows, user=user, action="entry.revised")
    return entries


def _store(
    entries: list[SequenceEntry], rows: list[SubmittedRow], *, user: User, action: str
) -> None:
    SequenceEntry.objects.bulk_create(entries)
    EntryFile.objects.bulk_create(
        [
            EntryFile(
                entry=entry,
                kind=EntryFile.Kind.INPUT,
                category=citation.category,
                name=citation.name,
                file_id=citation.file_id,
            )
            for entry, row in zip(entries, rows, strict=True)
            for citation in row.files
        ]
    )
    audit_events_bulk(
        actor=user,
        action=action,
        objects=entries,
        details={"organism": entries[0].organism} if entries else None,
    )


def _latest_versions(
    *, user: User, organism: Organism, rows: list[SubmittedRow]
) -> dict[str, SequenceEntry]:
    """The latest version of each cited accession the user may revise; else refusals."""
    wanted = [row.accession or "" for row in rows]
    latest = entry_latest_versions(queryset=entry_writable_queryset(user=user), accessions=wanted)
    unknown = [accession for accession in wanted if accession not in latest]
    if unknown:
        raise refusal(
            "accession_not_found", "No entries of your groups have the accessions", unknown
        )
    elsewhere = [
        f"{accession} ({entry.organism})"
        for accession, entry in latest.items()
        if entry.organism != organism.name
    ]
    if elsewhere:
        raise refusal(
            "wrong_organism", f"Entries that are not of organism {organism.name}", elsewhere
        )
    busy = [
        f"{entry.accession_version} ({entry.status})"
        for entry in latest.values()
        if entry.status in BEING_PROCESSED and not entry.is_revocation
    ]
    if busy:
        raise refusal(
            "entry_being_processed",
            "The latest version is still being processed; revise it once it is processed",
            busy,
            status=409,
        )
    return latest


def _refuse_changed_meanwhile(locked: dict[str, SequenceEntry], newest: dict[str, Any]) -> None:
    changed = [
        accession for accession, entry in locked.items() if newest.get(accession) != entry.version
    ]
    busy = [entry.accession_version for entry in locked.values() if entry.status in BEING_PROCESSED]
    if changed or busy:
        raise refusal(
            "entry_being_processed",
            "Entries changed while this revision was checked; send it again",
            changed + busy,
            status=409,
        )
