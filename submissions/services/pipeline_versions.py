"""The current preprocessing pipeline version of each organism.

An entry's status (RECEIVED, IN_PROCESSING, PROCESSED) is relative to the current version, so
a bump recomputes the statuses of the organism's unreleased entries. A bump never unpublishes:
released entries and files stay released, and their newer-version files were published when
they arrived or at approval (see services/release.py).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from submissions.models import MAX_VERSION, PipelineVersion, ProcessedData, SequenceEntry

Status = SequenceEntry.Status


def pipeline_version_current(*, organism: str) -> int:
    version = (
        PipelineVersion.objects.filter(organism=organism).values_list("version", flat=True).first()
    )
    return version or 1


def pipeline_version_locked(*, organism: str) -> PipelineVersion:
    """The organism's row, locked until the end of the caller's transaction: claims, results
    and bumps of one organism are serialised by it."""
    try:
        with transaction.atomic():
            PipelineVersion.objects.get_or_create(organism=organism)
    except IntegrityError:
        pass  # created by a concurrent request
    return PipelineVersion.objects.select_for_update().get(organism=organism)


def pipeline_version_bump(
    *, organism: str, actor: Actor, to: int | None = None, automatic: bool = False
) -> PipelineVersion:
    with transaction.atomic():
        row = pipeline_version_locked(organism=organism)
        new = row.version + 1 if to is None else to
        if new > MAX_VERSION:
            raise ApplicationError(
                "invalid_pipeline_version", f"Pipeline versions go up to {MAX_VERSION}."
            )
        if new <= row.version:
            raise ApplicationError(
                "pipeline_version_not_newer",
                f"Organism {organism} is at pipeline version {row.version}; {new} is not newer.",
                status=409,
            )
        previous, row.version = row.version, new
        row.save(update_fields=["version", "updated_at"])
        _refresh_statuses(organism=organism, version=new)
        audit_event(
            actor=actor,
            action="pipeline.version_bumped",
            obj=row,
            details={"from": previous, "to": new, "automatic": automatic},
        )
    return row


def pipeline_version_use_newer_if_possible(*, organism: str) -> int | None:
    """Bump to the newest version that has processed every entry the current version
    processed (as Loculus does); answers the new version, or None when none qualifies."""
    with transaction.atomic():
        row = pipeline_version_locked(organism=organism)
        processed = ProcessedData.objects.filter(
            entry__organism=organism, status=ProcessedData.Status.PROCESSED
        )
        newer = (
            processed.filter(pipeline_version__gt=row.version)
            .values_list("pipeline_version", flat=True)
            .distinct()
            .order_by("-pipeline_version")
        )
        for version in newer:
            missing = processed.filter(pipeline_version=row.version).exclude(
                Exists(processed.filter(entry=OuterRef("entry"), pipeline_version=version))
            )
            if not missing.exists():
                pipeline_version_bump(organism=organism, actor=None, to=version, automatic=True)
                return version
    return None


def _refresh_statuses(*, organism: str, version: int) -> None:
    unreleased = SequenceEntry.objects.filter(
        organism=organism, released_at__isnull=True, is_revocation=False
    )
    at_version = ProcessedData.objects.filter(entry=OuterRef("pk"), pipeline_version=version)
    done = at_version.filter(status=ProcessedData.Status.PROCESSED)
    unreleased.filter(Exists(done)).update(status=Status.PROCESSED)
    unreleased.filter(Exists(at_version)).exclude(Exists(done)).update(status=Status.IN_PROCESSING)
    unreleased.exclude(Exists(at_version)).update(status=Status.RECEIVED)
