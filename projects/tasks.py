"""Tasks of upload sessions: each takes IDs, calls one service and is safe to run twice. The
deadline and expiry tasks are queued with an ETA; the sweep queues again whatever is due and
was not done (a lost message, a worker that died)."""

from __future__ import annotations

from celery import Task, shared_task

from core.errors import StorageUnavailableError
from projects.selectors import session_expiry_due, session_purge_due
from projects.services.completion import session_completion_run
from projects.services.removal import removals_run, session_purge_begin, version_expire_begin
from projects.services.search import index_build_run
from projects.services.sweep import projects_sweep


@shared_task
def complete_upload_task(session_id: str, job_id: str) -> str | None:
    job = session_completion_run(session_id=session_id, job_id=job_id)
    return job.status if job is not None else None


@shared_task(
    bind=True,
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def purge_session_task(self: Task[[str], bool], session_id: str) -> bool:
    """At the deadline: purge the upload unless it was completed. A message delivered before
    its ETA (clocks differ) is queued again for the deadline (run inline, it is left to the
    sweep)."""
    purged = session_purge_begin(session_id=session_id, reason="its deadline passed", actor=None)
    due = session_purge_due(session_id=session_id)
    if not purged and due is not None and not self.request.is_eager:
        purge_session_task.apply_async((session_id,), eta=due)
    return purged


@shared_task(
    bind=True,
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def expire_version_task(self: Task[[str], bool], session_id: str) -> bool:
    expired = version_expire_begin(session_id=session_id)
    due = session_expiry_due(session_id=session_id)
    if not expired and due is not None and not self.request.is_eager:
        expire_version_task.apply_async((session_id,), eta=due)
    return expired


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def remove_objects_task(job_id: str) -> int:
    return removals_run(job_id=job_id)


@shared_task
def build_index_task(job_id: str) -> str | None:
    job = index_build_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task
def sweep_project_uploads_task() -> dict[str, int]:
    report = projects_sweep()
    for session_id in report.purge_session_ids:
        purge_session_task.delay(session_id)
    for session_id in report.expire_session_ids:
        expire_version_task.delay(session_id)
    for job_id in report.removal_job_ids:
        remove_objects_task.delay(job_id)
    for session_id, job_id in report.completions:
        complete_upload_task.delay(session_id, job_id)
    for job_id in report.index_build_job_ids:
        build_index_task.delay(job_id)
    return {
        "purges": len(report.purge_session_ids),
        "expiries": len(report.expire_session_ids),
        "removals": len(report.removal_job_ids),
        "completions": len(report.completions),
        "index_builds": len(report.index_build_job_ids),
    }
