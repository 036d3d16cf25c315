"""Purge, abort and expiry, in two phases (DESIGN rule 2).

First phase, at once: the session ends (the lock is released), its files that nothing else
attaches are expired and hidden, a version that never completed is removed, a transient version
past `expires_in` loses its data and metadata. Second phase, after PROJECT_PURGE_GRACE: the
bytes of those files (every S3 version) and any staged objects go. The purge or expiry job is
`running` in between and `succeeded` after; its result says what was done.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from core.models import Job
from core.queueing import enqueue_on_commit
from core.services import job_cancel, job_progress, job_start, job_succeed
from core.types import Actor
from filesharing import s3
from filesharing.services.session_files import file_remove_objects, files_expire_unused
from projects.models import ObjectRemoval, Project, ProjectVersion, SessionFile, UploadSession
from submissions.services.projects import project_entry_delete

Status = UploadSession.Status


def _schedule_removals(
    *, job: Job, file_ids: list[str], prefix: str, now: datetime
) -> datetime | None:
    due = now + settings.PROJECT_PURGE_GRACE
    rows = [ObjectRemoval(job=job, file_id=file_id, due_at=due) for file_id in file_ids]
    if prefix:
        rows.append(ObjectRemoval(job=job, prefix=prefix, due_at=due))
    if not rows:
        return None
    ObjectRemoval.objects.bulk_create(rows)
    from projects.tasks import remove_objects_task

    enqueue_on_commit(
        remove_objects_task, str(job.pk), eta=due, recovered_by="sweep_project_uploads_task"
    )
    return due


def _finish_or_wait(*, job: Job, result: dict[str, Any], due: datetime | None) -> None:
    if due is None:
        job_succeed(job_id=job.pk, result={**result, "phase": "done", "objects_removed": 0})
    else:
        job_progress(
            job_id=job.pk,
            result={
                **result,
                "phase": "removing the bytes after the grace period",
                "remove_after": due.isoformat(),
            },
        )


def _remove_unfinished_version(session: UploadSession, *, actor: Actor) -> bool:
    """A version provisioned for this session and never completed goes with it."""
    if session.version_id is None:
        return False
    version = ProjectVersion.objects.select_for_update().get(pk=session.version_id)
    if version.status != ProjectVersion.Status.PROVISIONED:
        return False
    others = UploadSession.objects.filter(version=version).exclude(pk=session.pk)
    if others.filter(status__in=(*UploadSession.ACTIVE, Status.COMPLETED)).exists():
        return False
    if version.entry_id is not None:
        project_entry_delete(entry_id=version.entry_id, actor=actor)
    UploadSession.objects.filter(version=version).update(version=None)
    version.delete()
    return True


def session_purge_begin(
    *,
    session_id: uuid.UUID | str,
    reason: str,
    actor: Actor,
    status: str = Status.PURGED,
    now: datetime | None = None,
) -> bool:
    """End an upload in progress (purge at the deadline, or abort): False when it had already
    ended, or (purge) when its deadline has not come."""
    now = now or timezone.now()
    with transaction.atomic():
        session = UploadSession.objects.select_related("project").get(pk=session_id)
        Project.objects.select_for_update().get(pk=session.project_id)
        session = (
            UploadSession.objects.select_for_update().select_related("project").get(pk=session_id)
        )
        if session.status not in UploadSession.ACTIVE:
            return False
        if status == Status.PURGED and session.deadline > now:
            return False
        if status == Status.ABORTED and session.status == Status.COMPLETING:
            raise ApplicationError(
                "completion_in_progress", "The upload is being completed.", status=409
            )
        job = Job.objects.select_for_update().get(pk=session.purge_job_id)
        job_start(job_id=job.pk)
        uploads = list(
            session.files.filter(kind=SessionFile.Kind.UPLOAD).values_list("path", "file_id")
        )
        expired = set(
            files_expire_unused(
                file_ids=[file_id for _, file_id in uploads],
                reason=f"upload {session.pk} of {session.project.accession}@"
                f"{session.version_number} was {status}: {reason}",
                actor=actor,
            )
        )
        version_removed = _remove_unfinished_version(session, actor=actor)
        session.status = status
        session.finished_at = now
        session.save(update_fields=["status", "finished_at"])
        if session.expires_job_id is not None:
            expires_job = Job.objects.get(pk=session.expires_job_id)
            if expires_job.status == Job.Status.PENDING:
                job_cancel(job=expires_job, actor=None)
        result = {
            "project_id": session.project.accession,
            "version": str(session.version_number),
            "revision": session.revision_label,
            "reason": reason,
            "status": status,
            "lock_released": True,
            "version_removed": version_removed,
            "files_expired": sorted(path for path, file_id in uploads if str(file_id) in expired),
        }
        due = _schedule_removals(
            job=job, file_ids=sorted(expired), prefix=session.staging_prefix, now=now
        )
        audit_event(actor=actor, action=f"project.upload_{status}", obj=session, details=result)
        _finish_or_wait(job=job, result=result, due=due)
    return True


def version_expire_begin(*, session_id: uuid.UUID | str, now: datetime | None = None) -> bool:
    """A transient version past `expires_in`: its metadata, its entry version and the files its
    uploads brought (unless something else attaches them) go. False when not due (yet)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = UploadSession.objects.get(pk=session_id)
        project = Project.objects.select_for_update().get(pk=session.project_id)
        session = UploadSession.objects.select_for_update().get(pk=session_id)
        if session.expires_job_id is None or session.version_id is None:
            return False
        job = Job.objects.select_for_update().get(pk=session.expires_job_id)
        if job.status not in (Job.Status.PENDING,) or session.status != Status.COMPLETED:
            return False
        if session.expires_at is None or session.expires_at > now:
            return False
        version = ProjectVersion.objects.select_for_update().filter(pk=session.version_id).first()
        job_start(job_id=job.pk)
        base = {"project_id": project.accession, "version": str(session.version_number)}
        if version is None or version.revision != session.revision:
            job_succeed(
                job_id=job.pk,
                result={
                    **base,
                    "phase": "done",
                    "expired": False,
                    "reason": "a later upload replaced this revision",
                },
            )
            return True
        documents = version.documents.count()
        version.documents.all().delete()
        if version.entry_id is not None:
            project_entry_delete(entry_id=version.entry_id, actor=None)
        version.status = ProjectVersion.Status.EXPIRED
        version.expired_at = now
        version.save(update_fields=["status", "expired_at"])
        uploads = dict(
            SessionFile.objects.filter(
                session__version=version, kind=SessionFile.Kind.UPLOAD
            ).values_list("file_id", "path")
        )
        expired = files_expire_unused(
            file_ids=list(uploads),
            reason=f"transient version {project.accession}@{version.version} expired",
        )
        result = {
            **base,
            "expired": True,
            "metadata_removed": documents,
            "files_expired": sorted(uploads[uuid.UUID(file_id)] for file_id in expired),
        }
        due = _schedule_removals(job=job, file_ids=expired, prefix="", now=now)
        audit_event(actor=None, action="project.version_expired", obj=version, details=result)
        _finish_or_wait(job=job, result=result, due=due)
    return True


def removals_run(*, job_id: uuid.UUID | str, now: datetime | None = None) -> int:
    """Second phase: remove what is due for this job; when nothing is left, the job succeeds
    with what was removed. Answers how many object versions were removed now."""
    now = now or timezone.now()
    removed = 0
    due = ObjectRemoval.objects.filter(job_id=job_id, removed_at__isnull=True, due_at__lte=now)
    for removal in due.order_by("pk"):
        if removal.file_id is not None:
            count = file_remove_objects(file_id=removal.file_id)
        else:
            count = s3.delete_prefix(prefix=removal.prefix)
        ObjectRemoval.objects.filter(pk=removal.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_objects=count
        )
        removed += count
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        pending = ObjectRemoval.objects.filter(job_id=job_id, removed_at__isnull=True).exists()
        if pending or job.status != Job.Status.RUNNING:
            return removed
        rows = ObjectRemoval.objects.filter(job_id=job_id)
        job_succeed(
            job_id=job_id,
            result={
                **job.result,
                "phase": "done",
                "objects_removed": sum(row.removed_objects for row in rows),
                "files_removed": sorted(str(row.file_id) for row in rows if row.file_id),
            },
        )
    return removed
