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
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.services.parallel import s3_map
from filesharing.services.verification import (
    PENDING,
    file_mark_uploaded,
    file_record_object,
    not_uploaded_error,
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
    facts = s3_map(lambda file: s3.head(key=file.key), to_check)
    with transaction.atomic():
        for file, fact in zip(to_check, facts, strict=True):
            outcomes[str(file.pk)] = _recorded(file, fact, actor)
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


def _recorded(file: File, fact: s3.ObjectFacts | None, actor: Actor) -> ConfirmOutcome:
    from filesharing.tasks import verify_file_task

    file_id = str(file.pk)
    if fact is None:
        return ConfirmOutcome(file_id, None, not_uploaded_error(file))
    if fact.sha256_hex:
        settled = file_record_object(
            file_id=file.pk, facts=fact, sha256_hex=fact.sha256_hex, actor=actor
        )
        return ConfirmOutcome(file_id, settled)
    file_mark_uploaded(file=file, actor=actor)
    transaction.on_commit(lambda: verify_file_task.delay(file_id))
    return ConfirmOutcome(file_id, file)
