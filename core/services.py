from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from core.errors import ApplicationError, NotFoundError
from core.models import Job


def job_may_cancel(*, job: Job, actor: Actor) -> bool:
    """The job's creator, or a curator (staff). Jobs that nobody created (a transient
    version's expiry, say) only curators may cancel."""
    if actor is None or not actor.is_authenticated:
        return False
    return bool(getattr(actor, "is_staff", False)) or (
        job.created_by_id is not None and job.created_by_id == actor.pk
    )


def job_cancel_for_user(*, job: Job, user: Actor) -> Job:
    """DELETE /api/jobs/<id>. Anyone but the creator or a curator is told the job does not
    exist: its id lets one poll a job, not stop it."""
    if not job_may_cancel(job=job, actor=user):
        raise NotFoundError("job", job.pk)
    return job_cancel(job=job, actor=user)


def job_cancel(*, job: Job, actor: Actor) -> Job:
    """Cancel a pending job; callers check who may (the system may always)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status != Job.Status.PENDING:
            raise ApplicationError(
                "job_not_cancellable",
                f"Job {job.pk} is {job.status}; only a pending job can be cancelled.",
                status=409,
            )
        job.status = Job.Status.CANCELLED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        audit_event(actor=actor, action="job.cancelled", obj=job)
    return job


# --- job lifecycle, for the services that run a job ------------------------------------------
# A job goes pending -> running -> succeeded | failed (or pending -> cancelled). Each step is
# idempotent: a job already past it is returned unchanged, so a task may run twice.


def job_create(*, kind: str, actor: Actor = None, result: dict[str, Any] | None = None) -> Job:
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            result=result or {},
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_event(actor=actor, action="job.created", obj=job, details={"kind": kind})
    return job


def job_start(*, job_id: uuid.UUID | str) -> Job | None:
    """Running from now on; None when the job is no longer pending (done, cancelled, or taken
    by another run of the same task)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status != Job.Status.PENDING:
            return None
        job.status = Job.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    return job


def job_progress(*, job_id: uuid.UUID | str, result: dict[str, Any]) -> Job:
    """What a running job has done so far, shown to whoever polls it."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status == Job.Status.RUNNING:
            job.result = result
            job.save(update_fields=["result"])
    return job


def job_succeed(*, job_id: uuid.UUID | str, result: dict[str, Any]) -> Job:
    return _job_finish(job_id=job_id, status=Job.Status.SUCCEEDED, result=result, error="")


def job_fail(*, job_id: uuid.UUID | str, reason: str, result: dict[str, Any] | None = None) -> Job:
    """`reason` is shown to clients as it is: a sentence, never a traceback."""
    return _job_finish(job_id=job_id, status=Job.Status.FAILED, result=result, error=reason)


def _job_finish(
    *, job_id: uuid.UUID | str, status: str, result: dict[str, Any] | None, error: str
) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status not in (Job.Status.PENDING, Job.Status.RUNNING):
            return job
        job.status = status
        job.error = error
        if result is not None:
            job.result = result
        now = timezone.now()
        job.started_at = job.started_at or now
        job.finished_at = now
        job.save(update_fields=["status", "error", "result", "started_at", "finished_at"])
        audit_event(
            actor=None, action=f"job.{status}", obj=job, details={"kind": job.kind, "error": error}
        )
    return job
