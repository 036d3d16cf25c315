"""Entry versions that are project versions (the projects app: ArtifactDB upload sessions).

A project is an accession and a project version an entry version of the organism
PROJECT_ORGANISM, which no organism configuration names: the pipeline never claims these
entries and nobody approves them. Their files are input attachments in the categories `data`
and `metadata`, replaced as a whole by each completed upload of the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from groups.models import Group
from submissions.models import Accession, EntryFile, SequenceEntry, accession_code
from submissions.services.attachments import check_locked_files

PROJECT_ORGANISM = "project"
PROJECT_FILE_CATEGORIES = ("data", "metadata")


@dataclass(frozen=True)
class ProjectAttachment:
    category: str  # one of PROJECT_FILE_CATEGORIES
    name: str
    file_id: str


def project_accession_mint() -> str:
    """A new accession from the entries' sequence, skipping any a client chose for itself."""
    while True:
        accession = accession_code(Accession.objects.create().pk)
        if not SequenceEntry.objects.filter(accession=accession).exists():
            return accession


def project_accession_is_entry(accession: str) -> bool:
    """Whether the accession belongs to sequence entries that are not project versions."""
    return (
        SequenceEntry.objects.filter(accession=accession)
        .exclude(organism=PROJECT_ORGANISM)
        .exists()
    )


def project_entry_create(
    *, accession: str, version: int, group: Group, user: User | None
) -> SequenceEntry:
    """The entry version of a newly provisioned project version (no files yet)."""
    if SequenceEntry.objects.filter(accession=accession, version=version).exists():
        raise ApplicationError(
            "version_exists",
            f"{accession}.{version} already exists.",
            status=409,
            details={"accession": accession, "version": version},
        )
    with transaction.atomic():
        entry = SequenceEntry.objects.create(
            accession=accession,
            version=version,
            organism=PROJECT_ORGANISM,
            group=group,
            submitter=user,
            submission_id=f"{accession}.{version}",
        )
        audit_event(actor=user, action="entry.project_version_created", obj=entry)
    return entry


def _locked_project_entry(entry_id: int) -> SequenceEntry:
    entry = SequenceEntry.objects.select_for_update().get(pk=entry_id)
    if entry.organism != PROJECT_ORGANISM:
        raise ApplicationError(
            "not_a_project_version", f"{entry.accession_version} is not a project version."
        )
    return entry


def project_entry_set_files(
    *, entry_id: int, attachments: Sequence[ProjectAttachment], actor: Actor
) -> None:
    """Replace the version's files: every one verified and live (DESIGN rule 3), attached by
    reference (a file linked from another version is the same row, never a copy)."""
    with transaction.atomic():
        entry = _locked_project_entry(entry_id)
        check_locked_files({item.file_id for item in attachments})
        entry.files.filter(kind=EntryFile.Kind.INPUT).delete()
        EntryFile.objects.bulk_create(
            [
                EntryFile(
                    entry=entry,
                    kind=EntryFile.Kind.INPUT,
                    category=item.category,
                    name=item.name,
                    file_id=item.file_id,
                )
                for item in attachments
            ]
        )
        audit_event(
            actor=actor,
            action="entry.project_files_set",
            obj=entry,
            details={"files": len(attachments)},
        )


def project_entry_delete(*, entry_id: int, actor: Actor) -> list[str]:
    """Remove a project version's entry and its attachments (an upload purged before it was
    ever completed, or a transient version past its expiry); the files stay. Answers the IDs of
    the files that were attached."""
    with transaction.atomic():
        entry = _locked_project_entry(entry_id)
        if entry.released_at is not None:
            raise ApplicationError(
                "entry_released", f"{entry.accession_version} is released.", status=409
            )
        file_ids = [str(pk) for pk in entry.files.values_list("file_id", flat=True)]
        audit_event(
            actor=actor,
            action="entry.project_version_removed",
            obj=entry,
            details={"accessionVersion": entry.accession_version, "files": file_ids},
        )
        entry.delete()
    return file_ids
