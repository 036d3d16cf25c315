"""Checks on files cited by ID, shared by submit, revise and the pipeline's results.

A file is attached only once it is verified (DESIGN rule 3). Files nobody confirmed are checked
here, all at once. Each refusal has its own code and names the rows and file IDs at fault; the
first failing check refuses the whole request, before anything is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.audit import Actor
from filesharing.models import File, MultipartUpload
from filesharing.names import filename_problem
from filesharing.services.batch_verification import files_verify_now
from filesharing.services.verification import PENDING
from groups.models import Group
from submissions.errors import refusal
from submissions.organisms import Organism
from submissions.parsing import FileCitation

# Pending: parts still arriving. Uploaded: being assembled and verified.
_MULTIPART_UNFINISHED = (MultipartUpload.Status.PENDING, MultipartUpload.Status.UPLOADED)


@dataclass(frozen=True)
class CitedFile:
    """A file cited for one entry: `owner` names the row or accession version for messages."""

    owner: str
    group: Group
    organism: Organism
    citation: FileCitation

    @property
    def where(self) -> str:
        return f"{self.owner} {self.citation.category}/{self.citation.name}"


def check_citation_names(cited: list[CitedFile], *, output: bool) -> None:
    """Organism accepts files, file-name rules, one name per category, allowed categories."""
    if not output:
        closed = sorted({c.organism.name for c in cited if not c.organism.accepts_files})
        if closed:
            raise refusal(
                "files_not_enabled",
                f"Organism {closed[0]} accepts no files, yet files are cited by",
                _unique(c.owner for c in cited),
            )
    bad_names = [
        f"{c.where} ({problem})"
        for c in cited
        if (problem := filename_problem(c.citation.name)) is not None
    ]
    if bad_names:
        raise refusal("invalid_filename", "File names break the naming rules", bad_names)
    counts = Counter((c.owner, c.citation.category, c.citation.name) for c in cited)
    repeated = [
        f"{owner} {category}/{name}" for (owner, category, name), n in counts.items() if n > 1
    ]
    if repeated:
        raise refusal(
            "duplicate_filename", "A name may appear once per category; repeated", repeated
        )
    disallowed = [
        c.where
        for c in cited
        if c.citation.category
        not in (c.organism.output_category_names if output else c.organism.input_category_names)
    ]
    if disallowed:
        kind = "output" if output else "input"
        raise refusal(
            "file_category_not_allowed",
            f"Categories that are not {kind} file categories of the organism",
            disallowed,
            details={
                "allowed": sorted(
                    {
                        name
                        for c in cited
                        for name in (
                            c.organism.output_category_names
                            if output
                            else c.organism.input_category_names
                        )
                    }
                )
            },
        )


def files_for_citations(cited: list[CitedFile], *, actor: Actor) -> dict[str, File]:
    """The cited files, each known, of the right group, live, and verified (checked in S3 now
    when nobody had); else the first failing check's refusal."""
    ids = sorted({c.citation.file_id for c in cited})
    files = {str(f.pk): f for f in File.objects.filter(pk__in=ids).select_related("group")}
    # Another group's file is answered like one that does not exist: its ID says nothing.
    citing_groups: dict[str, set[int]] = {}
    for c in cited:
        citing_groups.setdefault(c.citation.file_id, set()).add(c.group.pk)
    files = {k: f for k, f in files.items() if citing_groups[k] == {f.group_id}}
    unknown = [file_id for file_id in ids if file_id not in files]
    if unknown:
        raise refusal(
            "unknown_file_ids", "No file has the IDs", unknown, details={"fileIds": unknown}
        )
    _check_live(files.values())
    open_uploads = sorted(
        {
            str(file_id)
            for file_id in MultipartUpload.objects.filter(
                file_id__in=ids, status__in=_MULTIPART_UNFINISHED
            ).values_list("file_id", flat=True)
        }
    )
    if open_uploads:
        raise refusal(
            "multipart_upload_open",
            "A multipart upload is still open (or being completed) for file IDs",
            open_uploads,
            status=409,
            details={"fileIds": open_uploads},
        )
    files = files_verify_now(files=list(files.values()), actor=actor)
    missing = sorted(
        file_id
        for file_id, file in files.items()
        if file.status in PENDING or file.status == File.Status.EXPIRED
    )
    if missing:
        raise refusal(
            "file_not_uploaded",
            "No file uploaded for file IDs",
            missing,
            details={"fileIds": missing},
        )
    _check_live(files.values())
    return files


def check_locked_files(file_ids: Iterable[str]) -> None:
    """Inside the writing transaction: lock the cited rows, so a concurrent delete either
    happened (and refuses here) or waits for the attachment to commit."""
    locked = list(File.objects.select_for_update().filter(pk__in=list(file_ids)))
    _check_live(locked)
    unverified = sorted(str(f.pk) for f in locked if f.status != File.Status.VERIFIED)
    if unverified:
        raise refusal(
            "file_not_uploaded",
            "No file uploaded for file IDs",
            unverified,
            details={"fileIds": unverified},
        )


def _check_live(files: Iterable[File]) -> None:
    files = list(files)
    deleted = sorted(str(f.pk) for f in files if f.deleted_at is not None)
    if deleted:
        raise refusal(
            "file_deleted",
            "Deleted files cannot be attached; file IDs",
            deleted,
            details={"fileIds": deleted},
        )
    expired = sorted(str(f.pk) for f in files if f.status == File.Status.EXPIRED)
    if expired:
        raise refusal(
            "file_expired",
            "These uploads expired before they arrived; request them again. File IDs",
            expired,
            details={"fileIds": expired},
        )
    failed = sorted(f"{f.pk} ({f.failure_reason})" for f in files if f.status == File.Status.FAILED)
    if failed:
        raise refusal("file_failed", "These files failed verification", failed)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
