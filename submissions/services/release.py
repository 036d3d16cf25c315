"""Approve (release) and revoke entries; publish the files of released processed data.

Approval sets the entry's `released_at` and marks its processed data of the current or a newer
pipeline version as released, in one transaction. After the commit a task tags those output
files `public=true` and sets each file's `released_at` (filesharing.services.release). Marking
newer versions too means a later bump never leaves their files private. Reconciliation repairs
whatever a crash left half done.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_events_bulk
from core.errors import ApplicationError
from core.queueing import enqueue_on_commit
from filesharing.models import File
from filesharing.services.release import (
    ReconcileReport,
    file_id_chunks,
    files_publish,
    files_reconcile_public_tags,
)
from groups.models import Group
from submissions.errors import refusal
from submissions.models import EntryFile, ProcessedData, SequenceEntry
from submissions.selectors import (
    entry_latest_versions,
    entry_writable_queryset,
    file_ids_due_public,
    split_accession_version,
)
from submissions.services.pipeline_versions import pipeline_version_locked
from submissions.services.submit import user_can_submit_for

Status = SequenceEntry.Status


def entries_approve(
    *, user: User, accession_versions: list[str] | None = None, group: Group | None = None
) -> list[SequenceEntry]:
    """Release the given entry versions, or with `group` every approvable one of the group.
    Only PROCESSED entries whose processed data has no errors; all or none."""
    from submissions.tasks import release_processed_data_task

    if group is not None:
        if not user_can_submit_for(user=user, group=group):
            raise ApplicationError("group_not_found", f"No group {group.pk}.", status=404)
        candidates = list(
            entry_writable_queryset(user=user).filter(group=group, status=Status.PROCESSED)
        )
    else:
        candidates = _entries_named(user=user, accession_versions=accession_versions or [])
    organisms = sorted({entry.organism for entry in candidates})
    with transaction.atomic():
        # Locks in the order results take them: pipeline version, entries, processed data.
        current = {name: pipeline_version_locked(organism=name).version for name in organisms}
        entries = list(
            SequenceEntry.objects.select_for_update()
            .filter(pk__in=[entry.pk for entry in candidates])
            .order_by("pk")
        )
        processed = _processed_at_current(entries, current)
        if group is not None:
            entries = [
                e for e in entries if e.status == Status.PROCESSED and not _errors(e, processed)
            ]
        else:
            _refuse_unapprovable(entries, processed)
        released = _release(entries, user=user, current=current)
        audit_events_bulk(actor=user, action="entry.approved", objects=entries)
        if released:
            enqueue_on_commit(
                release_processed_data_task, released, recovered_by="reconcile_public_tags_task"
            )
    return sorted(entries, key=lambda entry: (entry.accession, entry.version))


def _release(entries: list[SequenceEntry], *, user: User, current: dict[str, int]) -> list[int]:
    """Mark the entries and their error-free processed data of the current or a newer pipeline
    version released; answers those processed-data IDs, whose files are to be published."""
    now = timezone.now()
    for entry in entries:
        entry.status = Status.APPROVED_FOR_RELEASE
        entry.released_at = now
        entry.approver = user
    SequenceEntry.objects.bulk_update(entries, ["status", "released_at", "approver"])
    rows = ProcessedData.objects.filter(
        entry__in=entries, status=ProcessedData.Status.PROCESSED, errors=[]
    ).select_related("entry")
    ids = sorted(row.pk for row in rows if row.pipeline_version >= current[row.entry.organism])
    ProcessedData.objects.filter(pk__in=ids).update(released_at=now)
    return ids


def _entries_named(*, user: User, accession_versions: list[str]) -> list[SequenceEntry]:
    if not accession_versions:
        raise ApplicationError(
            "invalid_input", "Give accessionVersions, or scope all with groupId."
        )
    parsed = {text: split_accession_version(text) for text in accession_versions}
    malformed = [text for text, parts in parsed.items() if parts is None]
    if malformed:
        raise refusal(
            "invalid_accession_version", "Not of the form ACCESSION.VERSION", malformed, status=400
        )
    writable = entry_writable_queryset(user=user).filter(
        accession__in={parts[0] for parts in parsed.values() if parts}
    )
    found = {entry.accession_version: entry for entry in writable}
    unknown = [text for text in accession_versions if text.strip() not in found]
    if unknown:
        raise refusal(
            "accession_version_not_found",
            "No entries of your groups have accession versions",
            unknown,
        )
    return list(
        {found[text.strip()].pk: found[text.strip()] for text in accession_versions}.values()
    )


def _processed_at_current(
    entries: list[SequenceEntry], current: dict[str, int]
) -> dict[int, ProcessedData]:
    rows = ProcessedData.objects.filter(entry__in=entries).select_related("entry")
    return {
        row.entry_id: row for row in rows if row.pipeline_version == current[row.entry.organism]
    }


def _errors(entry: SequenceEntry, processed: dict[int, ProcessedData]) -> bool:
    row = processed.get(entry.pk)
    return row is not None and row.has_errors


def _refuse_unapprovable(entries: list[SequenceEntry], processed: dict[int, ProcessedData]) -> None:
    released = [e.accession_version for e in entries if e.status == Status.APPROVED_FOR_RELEASE]
    if released:
        raise refusal("entry_already_released", "Already released", released, status=409)
    waiting = [
        f"{e.accession_version} ({e.status})" for e in entries if e.status != Status.PROCESSED
    ]
    if waiting:
        raise refusal(
            "entry_not_processed", "Only processed entries can be approved; not so", waiting
        )
    failing = [e.accession_version for e in entries if _errors(e, processed)]
    if failing:
        raise refusal("entry_has_errors", "Processing found errors in accession versions", failing)


def entries_revoke(
    *, user: User, accessions: list[str], release: bool = False
) -> list[SequenceEntry]:
    """A revocation version of each released entry (it takes the entry back from public view;
    its files stay stored and public). It awaits approval unless `release`."""
    latest = entry_latest_versions(
        queryset=entry_writable_queryset(user=user), accessions=accessions
    )
    unknown = [accession for accession in accessions if accession not in latest]
    if unknown:
        raise refusal(
            "accession_not_found", "No entries of your groups have the accessions", unknown
        )
    with transaction.atomic():
        locked = list(
            SequenceEntry.objects.select_for_update().filter(pk__in=[e.pk for e in latest.values()])
        )
        unreleased = [e.accession_version for e in locked if e.released_at is None]
        if unreleased:
            raise refusal(
                "entry_not_released", "Only released entries can be revoked", unreleased, status=409
            )
        revoked = [e.accession_version for e in locked if e.is_revocation]
        if revoked:
            raise refusal("entry_already_revoked", "Already revoked", revoked, status=409)
        now = timezone.now() if release else None
        revocations = [
            SequenceEntry(
                accession=entry.accession,
                version=entry.version + 1,
                organism=entry.organism,
                group=entry.group,
                submitter=user,
                submission_id=entry.submission_id,
                is_revocation=True,
                status=Status.APPROVED_FOR_RELEASE if release else Status.PROCESSED,
                released_at=now,
                approver=user if release else None,
            )
            for entry in locked
        ]
        SequenceEntry.objects.bulk_create(revocations)
        audit_events_bulk(actor=user, action="entry.revoked", objects=revocations)
        if release:
            audit_events_bulk(actor=user, action="entry.approved", objects=revocations)
    return revocations


def processed_data_file_ids_to_publish(*, processed_data_ids: Iterable[int]) -> list[str]:
    """The unpublished, verified, live output files of released processed data."""
    outputs = EntryFile.objects.filter(
        kind=EntryFile.Kind.OUTPUT,
        processed_data_id__in=list(processed_data_ids),
        processed_data__released_at__isnull=False,
    ).values("file_id")
    files = File.objects.filter(
        pk__in=outputs,
        released_at__isnull=True,
        deleted_at__isnull=True,
        status=File.Status.VERIFIED,
    )
    return [str(pk) for pk in files.order_by("pk").values_list("pk", flat=True)]


def processed_data_publish(*, processed_data_ids: Iterable[int], actor: Actor = None) -> list[str]:
    """Publish the output files of released processed data in this process, chunk by chunk;
    answers the file IDs published. Safe to run again: published files are left as they are.
    (The release task instead spreads the chunks over the workers.)"""
    file_ids = processed_data_file_ids_to_publish(processed_data_ids=processed_data_ids)
    published: list[str] = []
    for chunk in file_id_chunks(file_ids, settings.RELEASE_CHUNK_SIZE):
        published += files_publish(file_ids=chunk, actor=actor)
    return published


def public_tags_reconcile(*, actor: Actor = None) -> ReconcileReport:
    """Every file of released processed data public (tag, then `released_at`); every released
    file tagged; no other file tagged. An audit event for each repair."""
    return files_reconcile_public_tags(due=file_ids_due_public(), actor=actor)
