"""Confirm many single-PUT uploads in one request: what S3 holds is read in parallel, and files
whose object carries its SHA-256 are settled at once, so a client sending a thousand small files
neither confirms them one by one nor polls for their verification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from core.audit import Actor
from core.errors import ApplicationError, NotFoundError
from core.queueing import enqueue_on_commit
from filesharing import s3
from filesharing.models import File, MultipartUpload, StorageCapabilities
from filesharing.services.parallel import s3_map
from filesharing.services.storage import storage_capabilities
from filesharing.services.verification import (
    PENDING,
    ObjectReading,
    file_mark_uploaded,
    file_record_object,
    not_uploaded_error,
    read_version,
    refuse_unusable,
)


@dataclass(frozen=True)
class ConfirmOutcome:
    file_id: str
    file: File | None  # as it is after the confirmation; None when refused
    error: ApplicationError | None = None


def _refusal(file: File, open_multipart: set[str]) -> ApplicationError | None:
    try:
        refuse_unusable(file)
    except ApplicationError as exc:
        return exc
    if str(file.pk) in open_multipart:
        return ApplicationError(
            "multipart_upload_open",
            f"File {file.id} has a multipart upload in progress; complete it instead.",
            status=409,
        )
    return None


def files_confirm(
    *, file_ids: Sequence[str], found: dict[str, File], actor: Actor
) -> list[ConfirmOutcome]:
    """One outcome per ID, in order. `found` holds the files the caller may see, by ID; an ID
    missing from it is refused as not found. A file whose object carries a SHA-256 is verified
    (or failed) before this returns; others become `uploaded` and are verified by a task."""
    if not 1 <= len(file_ids) <= settings.MAX_FILES_PER_REQUEST:
        raise ApplicationError(
            "too_many_files",
            f"Confirm between 1 and {settings.MAX_FILES_PER_REQUEST} files at once.",
            details={"requested": len(file_ids)},
        )
    outcomes, to_check = _screened(file_ids, found)
    capabilities = storage_capabilities()
    readings = s3_map(lambda file: _quick_reading(file, capabilities), to_check)
    with transaction.atomic():
        for file, reading in zip(to_check, readings, strict=True):
            outcomes[str(file.pk)] = _recorded(file, reading, actor)
    fresh = File.objects.select_related("group", "uploader").in_bulk(
        [outcome.file.pk for outcome in outcomes.values() if outcome.file is not None]
    )
    return [
        ConfirmOutcome(o.file_id, fresh[o.file.pk]) if o.file is not None else o
        for o in (outcomes[file_id] for file_id in file_ids)
    ]


def _screened(
    file_ids: Sequence[str], found: dict[str, File]
) -> tuple[dict[str, ConfirmOutcome], list[File]]:
    """Outcomes decided from the database alone, and the files whose object S3 must show."""
    open_multipart = {
        str(pk)
        for pk in MultipartUpload.objects.filter(
            file_id__in=list(found), status=MultipartUpload.Status.PENDING
        ).values_list("file_id", flat=True)
    }
    outcomes: dict[str, ConfirmOutcome] = {}
    to_check: list[File] = []
    for file_id in file_ids:
        file = found.get(file_id)
        if file is None:
            outcomes[file_id] = ConfirmOutcome(file_id, None, NotFoundError("file", file_id))
        elif (refusal := _refusal(file, open_multipart)) is not None:
            outcomes[file_id] = ConfirmOutcome(file_id, None, refusal)
        elif file.status not in PENDING:
            outcomes[file_id] = ConfirmOutcome(file_id, file)
        else:
            to_check.append(file)
    return outcomes, to_check


def _quick_reading(file: File, capabilities: StorageCapabilities) -> ObjectReading | None:
    """What S3 holds, where that settles the file without reading its bytes (S3 checked the
    SHA-256 it holds); None when the object is there but must be hashed by the verifier."""
    facts = s3.head(key=file.key)
    if facts is None:
        return ObjectReading(facts=None)
    checked_by_s3 = facts.sha256_hex and capabilities.verifies_sha256
    if not (checked_by_s3 and s3.md5_from_etag(facts.etag)):
        return None
    return read_version(file=file, facts=facts, capabilities=capabilities)


def _recorded(file: File, reading: ObjectReading | None, actor: Actor) -> ConfirmOutcome:
    from filesharing.tasks import verify_file_task

    file_id = str(file.pk)
    if reading is not None and reading.facts is None:
        return ConfirmOutcome(file_id, None, not_uploaded_error(file))
    if reading is not None:
        return ConfirmOutcome(
            file_id, file_record_object(file_id=file.pk, reading=reading, actor=actor)
        )
    file_mark_uploaded(file=file, actor=actor)
    enqueue_on_commit(verify_file_task, file_id, recovered_by="verify_unconfirmed_files_task")
    return ConfirmOutcome(file_id, file)
