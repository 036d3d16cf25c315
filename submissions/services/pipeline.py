"""The preprocessing pipeline: it claims unprocessed entries and returns what it made of them.

A pipeline version processes every entry of its organism once; versions older than the current
one are refused. Results for an entry already released are published at once (its files become
public), as are, at approval, results of versions at or above the current one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.audit import audit_events_bulk
from core.errors import ApplicationError
from core.queueing import enqueue_on_commit
from filesharing import s3
from groups.permissions import user_is_pipeline
from submissions.errors import refusal
from submissions.models import EntryFile, ProcessedData, SequenceEntry
from submissions.organisms import Organism, organism_get
from submissions.parsing import FileCitation
from submissions.services.attachments import (
    CitedFile,
    check_citation_names,
    check_locked_files,
    files_for_citations,
)
from submissions.services.pipeline_versions import (
    pipeline_version_locked,
    pipeline_version_use_newer_if_possible,
)

Status = SequenceEntry.Status


def _require_pipeline(user: User) -> None:
    if not user_is_pipeline(user):
        raise ApplicationError(
            "not_pipeline", "Only the preprocessing pipeline may do this.", status=403
        )


def _refuse_outdated(*, organism: str, pipeline_version: int, current: int) -> None:
    if pipeline_version < current:
        raise ApplicationError(
            "pipeline_version_outdated",
            f"Pipeline version {pipeline_version} is older than organism {organism}'s current "
            f"version {current}.",
            status=422,
            details={"organism": organism, "current": current},
        )


@dataclass(frozen=True)
class Claim:
    entry_ids: list[int]
    signed_at: datetime  # the read URLs handed out are signed at this instant


def entries_claim_for_processing(
    *, user: User, organism: Organism, pipeline_version: int, limit: int
) -> Claim:
    """Hand up to `limit` entries that `pipeline_version` has not processed to the pipeline,
    oldest first; they are `IN_PROCESSING` for that version. Concurrent claims get disjoint
    entries. Every read URL that goes with them is audited here."""
    _require_pipeline(user)
    s3.require_available()  # no entry is claimed with read URLs to an object store that is down
    signed_at = timezone.now()
    with transaction.atomic():
        current = pipeline_version_locked(organism=organism.name).version
        _refuse_outdated(organism=organism.name, pipeline_version=pipeline_version, current=current)
        done = ProcessedData.objects.filter(entry=OuterRef("pk"), pipeline_version=pipeline_version)
        entries = list(
            SequenceEntry.objects.filter(organism=organism.name, is_revocation=False)
            .exclude(Exists(done))
            .order_by("pk")
            .select_for_update(skip_locked=True)[:limit]
        )
        ProcessedData.objects.bulk_create(
            [ProcessedData(entry=entry, pipeline_version=pipeline_version) for entry in entries]
        )
        if pipeline_version == current:
            SequenceEntry.objects.filter(
                pk__in=[e.pk for e in entries], status=Status.RECEIVED
            ).update(status=Status.IN_PROCESSING)
        audit_events_bulk(
            actor=user,
            action="entry.processing_started",
            objects=entries,
            details={"pipelineVersion": pipeline_version},
        )
        inputs = EntryFile.objects.filter(entry__in=entries, kind=EntryFile.Kind.INPUT)
        expires_at = signed_at + settings.PIPELINE_READ_URL_LIFETIME
        audit_events_bulk(
            actor=user,
            action="file.download_url_issued",
            objects=[attachment.file for attachment in inputs.select_related("file")],
            details={"purpose": "pipeline", "expires_at": expires_at.isoformat()},
        )
    return Claim(entry_ids=[entry.pk for entry in entries], signed_at=signed_at)


@dataclass
class ProcessedResult:
    """One line of the pipeline's NDJSON."""

    line: int
    accession: str
    version: int
    metadata: dict[str, Any]
    files: list[FileCitation] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)

    @property
    def accession_version(self) -> str:
        return f"{self.accession}.{self.version}"


def entries_record_processed(
    *, user: User, pipeline_version: int, results: list[ProcessedResult]
) -> list[ProcessedData]:
    """Store the pipeline's results, all or none. Entries become PROCESSED (for the current
    version); results for released entries are published at once."""
    from submissions.tasks import release_processed_data_task

    _require_pipeline(user)
    entries = _entries_in_processing(results, pipeline_version=pipeline_version)
    cited = [
        CitedFile(
            f"Accession version {result.accession_version}",
            entries[result.accession_version].group,
            organism_get(entries[result.accession_version].organism),
            citation,
        )
        for result in results
        for citation in result.files
    ]
    check_citation_names(cited, output=True)
    files = files_for_citations(cited, actor=user)
    organisms = sorted({entry.organism for entry in entries.values()})
    with transaction.atomic():
        # Locks in the order approval takes them: pipeline version, entries, processed data.
        current = {name: pipeline_version_locked(organism=name).version for name in organisms}
        for name in organisms:
            _refuse_outdated(
                organism=name, pipeline_version=pipeline_version, current=current[name]
            )
        locked = {
            entry.pk: entry
            for entry in SequenceEntry.objects.select_for_update()
            .filter(pk__in=[e.pk for e in entries.values()])
            .order_by("pk")
        }
        rows = _lock_in_processing(entries, pipeline_version=pipeline_version)
        check_locked_files(files)
        now = timezone.now()
        published = [
            rows[result.accession_version].pk
            for result in results
            if _apply_result(
                rows[result.accession_version],
                locked[entries[result.accession_version].pk],
                result,
                now=now,
                current=current,
            )
        ]
        audit_events_bulk(
            actor=user,
            action="entry.processed",
            objects=[entries[result.accession_version] for result in results],
            details={"pipelineVersion": pipeline_version},
        )
        if published:
            enqueue_on_commit(
                release_processed_data_task, published, recovered_by="reconcile_public_tags_task"
            )
    for name in organisms:
        if pipeline_version > current[name]:
            pipeline_version_use_newer_if_possible(organism=name)
    return list(rows.values())


def _apply_result(
    row: ProcessedData,
    entry: SequenceEntry,
    result: ProcessedResult,
    *,
    now: datetime,
    current: dict[str, int],
) -> bool:
    """Store one result; True when its files are to be published now."""
    _store_result(row, result, now=now)
    if entry.released_at is not None:
        if result.errors:
            return False
        # The entry is public already: what arrives for it is published at once.
        row.released_at = now
        row.save(update_fields=["released_at"])
        return True
    if row.pipeline_version == current[entry.organism]:
        entry.status = Status.PROCESSED
        entry.save(update_fields=["status"])
    return False


def _entries_in_processing(
    results: list[ProcessedResult], *, pipeline_version: int
) -> dict[str, SequenceEntry]:
    wanted = [result.accession_version for result in results]
    repeated = sorted(key for key, count in Counter(wanted).items() if count > 1)
    if repeated:
        raise refusal(
            "duplicate_accession_version", "Accession versions sent more than once", repeated
        )
    found = {
        entry.accession_version: entry
        for entry in SequenceEntry.objects.select_related("group").filter(
            accession__in={result.accession for result in results}
        )
    }
    unknown = [key for key in wanted if key not in found]
    if unknown:
        raise refusal("accession_version_not_found", "No entries have accession versions", unknown)
    rows = {
        row.entry_id: row
        for row in ProcessedData.objects.filter(
            entry__in=[found[key] for key in wanted], pipeline_version=pipeline_version
        )
    }
    idle = [
        f"{key} ({rows[found[key].pk].status if found[key].pk in rows else 'not handed out'})"
        for key in wanted
        if found[key].pk not in rows
        or rows[found[key].pk].status != ProcessedData.Status.IN_PROCESSING
    ]
    if idle:
        raise refusal(
            "entry_not_in_processing",
            f"Accession versions are not in processing for pipeline version {pipeline_version}",
            idle,
        )
    return {key: found[key] for key in wanted}


def _lock_in_processing(
    entries: dict[str, SequenceEntry], *, pipeline_version: int
) -> dict[str, ProcessedData]:
    by_entry = {entry.pk: key for key, entry in entries.items()}
    rows = {
        by_entry[row.entry_id]: row
        for row in ProcessedData.objects.select_for_update().filter(
            entry_id__in=list(by_entry), pipeline_version=pipeline_version
        )
    }
    idle = [key for key in entries if rows[key].status != ProcessedData.Status.IN_PROCESSING]
    if idle:
        raise refusal(
            "entry_not_in_processing",
            "Results for these accession versions arrived meanwhile",
            idle,
        )
    return rows


def _store_result(row: ProcessedData, result: ProcessedResult, *, now: datetime) -> None:
    row.status = ProcessedData.Status.PROCESSED
    row.metadata = result.metadata
    row.errors = result.errors
    row.warnings = result.warnings
    row.finished_at = now
    row.save(update_fields=["status", "metadata", "errors", "warnings", "finished_at"])
    EntryFile.objects.bulk_create(
        [
            EntryFile(
                entry_id=row.entry_id,
                processed_data=row,
                kind=EntryFile.Kind.OUTPUT,
                category=citation.category,
                name=citation.name,
                file_id=citation.file_id,
            )
            for citation in result.files
        ]
    )


def entries_reset_stale_processing(*, now: datetime | None = None) -> int:
    """Claims the pipeline never answered within PIPELINE_STALE_AFTER (it crashed, or the
    stream broke) go back to the queue: the entries are handed out again. Answers how many."""
    cutoff = (now or timezone.now()) - settings.PIPELINE_STALE_AFTER
    stale = ProcessedData.objects.filter(
        status=ProcessedData.Status.IN_PROCESSING, started_at__lt=cutoff
    )
    organisms = sorted(set(stale.values_list("entry__organism", flat=True)))
    with transaction.atomic():
        # Locks in the order claims and results take them.
        current = {name: pipeline_version_locked(organism=name).version for name in organisms}
        entries = list(
            SequenceEntry.objects.select_for_update()
            .filter(pk__in=stale.values("entry_id"))
            .order_by("pk")
        )
        rows = list(stale.select_for_update().filter(entry__in=entries).select_related("entry"))
        waiting = [
            row.entry_id
            for row in rows
            if row.pipeline_version == current[row.entry.organism]
            and row.entry.status == Status.IN_PROCESSING
        ]
        SequenceEntry.objects.filter(pk__in=waiting).update(status=Status.RECEIVED)
        ProcessedData.objects.filter(pk__in=[row.pk for row in rows]).delete()
        audit_events_bulk(
            actor=None,
            action="entry.processing_reset",
            objects=[row.entry for row in rows],
            details={"reason": "no result from the pipeline in time"},
        )
    return len(rows)
