from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from core.errors import ApplicationError
from core.models import Job


def job_cancel(*, job: Job, actor: Actor) -> Job:
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
