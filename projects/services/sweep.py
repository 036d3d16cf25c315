"""The periodic sweep: whatever a lost or early message left undone is found here and queued
again, so that no deadline, expiry or removal depends on one message arriving."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from core.models import Job
from projects.models import IndexState, ObjectRemoval, UploadSession

BATCH = 500
# A completion or re-indexing queues its job at once; one still pending after this lost its
# message.
COMPLETION_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class SweepReport:
    purge_session_ids: list[str]
    expire_session_ids: list[str]
    removal_job_ids: list[str]
    completions: list[tuple[str, str]]  # (session ID, job ID)
    index_build_job_ids: list[str] = field(default_factory=list)


def projects_sweep(*, now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    overdue = UploadSession.objects.filter(
        status__in=UploadSession.ACTIVE, deadline__lte=now
    ).order_by("deadline")
    expiring = UploadSession.objects.filter(
        status=UploadSession.Status.COMPLETED,
        expires_at__lte=now,
        expires_job__status=Job.Status.PENDING,
    ).order_by("expires_at")
    removals = (
        ObjectRemoval.objects.filter(removed_at__isnull=True, due_at__lte=now)
        .values_list("job_id", flat=True)
        .distinct()
    )
    stuck = UploadSession.objects.filter(
        Q(completion_job__status=Job.Status.PENDING)
        & Q(completion_job__created_at__lte=now - COMPLETION_GRACE),
        status=UploadSession.Status.COMPLETING,
    )
    # A re-indexing whose job never started lost its message (the broker was down).
    unstarted_index_builds = IndexState.objects.filter(
        state=IndexState.State.REINDEXING,
        job__status=Job.Status.PENDING,
        job__created_at__lte=now - COMPLETION_GRACE,
    ).values_list("job_id", flat=True)
    return SweepReport(
        purge_session_ids=[str(pk) for pk in overdue.values_list("pk", flat=True)[:BATCH]],
        expire_session_ids=[str(pk) for pk in expiring.values_list("pk", flat=True)[:BATCH]],
        removal_job_ids=[str(pk) for pk in list(removals)[:BATCH]],
        completions=[
            (str(pk), str(job_id))
            for pk, job_id in stuck.values_list("pk", "completion_job_id")[:BATCH]
        ],
        index_build_job_ids=[str(pk) for pk in unstarted_index_builds],
    )
