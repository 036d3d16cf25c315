"""Completion: PUT …/complete starts a job that verifies every file, validates every metadata
file against its `$schema`, stores the version and cancels the purge.

A completion that finds problems fails its job with the reasons and leaves the upload open
until its deadline, so that the client can fix them (PUT URLs stay valid) and complete again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import strict_json
from core.audit import audit_event
from core.errors import ApplicationError, NotFoundError
from core.models import Job
from core.queueing import enqueue_on_commit
from core.services import job_cancel, job_create, job_fail, job_start, job_succeed
from core.types import AnyUser
from filesharing import s3
from filesharing.models import File
from filesharing.services.parallel import s3_map
from filesharing.services.session_files import (
    files_copy_from_staging,
    files_settle_session_uploads,
)
from projects.credentials import session_action_verify
from projects.identifiers import is_metadata_path
from projects.models import (
    MetadataDocument,
    Project,
    ProjectVersion,
    SessionFile,
    UploadSession,
    revision_label,
)
from projects.permissions import permissions_normalised, user_is_uploader
from projects.schemas import schema_problems
from projects.selectors import session_in_progress
from projects.services.search import search_entries_refresh
from submissions.services.projects import ProjectAttachment, project_entry_set_files

logger = logging.getLogger(__name__)
MAX_REASONS = 10


def session_for_action(
    *, accession: str, version: int, user: AnyUser, credential: str | None, action: str
) -> UploadSession:
    """The upload in progress of this version, if the caller may complete or abort it: with
    the signed URL the upload answered, as its uploader, or as an uploader/curator."""
    session = session_in_progress(accession=accession, version=version)
    if session is None:
        raise NotFoundError("upload", f"{accession}@{version}")
    if credential:
        session_action_verify(token=credential, session_id=session.pk, action=action)
    elif not (user.is_authenticated and (session.user_id == user.pk or user_is_uploader(user))):
        raise NotFoundError("upload", f"{accession}@{version}")
    return session


def _check_matches(
    session: UploadSession, *, revision: str | None, purge_job_id: str | None
) -> None:
    if revision and revision != session.revision_label:
        raise ApplicationError(
            "revision_mismatch",
            f"This upload is revision {session.revision_label}, not {revision}.",
            status=409,
        )
    if purge_job_id and purge_job_id != str(session.purge_job_id):
        raise ApplicationError(
            "purge_job_mismatch",
            f"This upload's purge job is {session.purge_job_id}, not {purge_job_id}.",
            status=409,
        )


def session_complete_request(
    *,
    session: UploadSession,
    user: AnyUser,
    revision: str | None,
    purge_job_id: str | None,
    permissions: dict[str, Any],
) -> Job:
    """Accept the completion (202): the job verifies and stores in the background."""
    from projects.tasks import complete_upload_task

    _check_matches(session, revision=revision, purge_job_id=purge_job_id)
    stored = permissions_normalised(
        permissions, default=session.project.permissions, user=session.user
    )
    with transaction.atomic():
        session = UploadSession.objects.select_for_update().get(pk=session.pk)
        if session.status != UploadSession.Status.UPLOADING:
            raise ApplicationError(
                "completion_in_progress"
                if session.status == UploadSession.Status.COMPLETING
                else "upload_not_open",
                f"This upload is {session.status}.",
                status=409,
            )
        if session.deadline <= timezone.now():
            raise ApplicationError(
                "upload_deadline_passed",
                f"The upload's deadline ({session.deadline.isoformat()}) has passed; it is "
                "being purged.",
                status=409,
            )
        job = job_create(kind="project.complete", actor=user)
        session.status = UploadSession.Status.COMPLETING
        session.permissions = stored
        session.completion_job = job
        session.save(update_fields=["status", "permissions", "completion_job"])
        audit_event(actor=user, action="project.completion_requested", obj=session)
        enqueue_on_commit(
            complete_upload_task,
            str(session.pk),
            str(job.pk),
            recovered_by="sweep_project_uploads_task",
        )
    return job


# --- the job ------------------------------------------------------------------------------


class CompletionRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class CheckedDocument:
    path: str
    file: File
    document: dict[str, Any]


def session_completion_run(*, session_id: uuid.UUID | str, job_id: uuid.UUID | str) -> Job | None:
    """Run the completion job once; None when it was already run or cancelled (a cancelled
    completion leaves the upload open, to be completed again)."""
    if job_start(job_id=job_id) is None:
        if Job.objects.filter(pk=job_id, status=Job.Status.CANCELLED).exists():
            _reopen(session_id)
        return None
    try:
        _complete(session_id, job_id)
    except CompletionRefused as refused:
        _reopen(session_id)
        shown = refused.reasons[:MAX_REASONS]
        more = len(refused.reasons) - len(shown)
        reason = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        return job_fail(job_id=job_id, reason=reason, result={"problems": refused.reasons})
    except ApplicationError as exc:
        _reopen(session_id)
        return job_fail(job_id=job_id, reason=f"{exc.message} Complete the upload again.")
    except Exception:
        logger.exception("completion %s of upload %s failed", job_id, session_id)
        _reopen(session_id)
        return job_fail(
            job_id=job_id,
            reason=f"An internal error stopped the completion (reference {job_id}); complete "
            "the upload again.",
        )
    session = UploadSession.objects.get(pk=session_id)
    if session.staging_prefix:
        # Copied to their files: the staged objects are of no further use.
        s3.delete_prefix(prefix=session.staging_prefix)
    return Job.objects.get(pk=job_id)


def _reopen(session_id: uuid.UUID | str) -> None:
    with transaction.atomic():
        session = UploadSession.objects.select_for_update().get(pk=session_id)
        if session.status == UploadSession.Status.COMPLETING:
            session.status = UploadSession.Status.UPLOADING
            session.save(update_fields=["status"])


def _complete(session_id: uuid.UUID | str, job_id: uuid.UUID | str) -> dict[str, Any]:
    session = UploadSession.objects.select_related("project", "version").get(pk=session_id)
    if session.status != UploadSession.Status.COMPLETING:
        raise CompletionRefused([f"the upload is {session.status}"])
    declared = list(session.files.select_related("file").order_by("path"))
    uploads = [item for item in declared if item.kind == SessionFile.Kind.UPLOAD]
    if session.staging_prefix:
        files_copy_from_staging(
            staged={str(item.file_id): session.staging_prefix + item.path for item in uploads}
        )
    settled = files_settle_session_uploads(file_ids=[item.file_id for item in uploads])
    reasons = [
        reason
        for item in uploads
        if (reason := _upload_problem(item, settled[str(item.file_id)])) is not None
    ]
    reasons += [reason for item in declared if (reason := _link_problem(item)) is not None]
    if reasons:
        raise CompletionRefused(reasons)
    documents = _checked_documents(uploads, settled)
    files = {item.path: settled.get(str(item.file_id), item.file) for item in declared}
    reasons = [reason for doc in documents if (reason := _md5_problem(doc, files)) is not None]
    if reasons:
        raise CompletionRefused(reasons)
    return _store(session, declared, documents, job_id=job_id)


def _upload_problem(item: SessionFile, file: File) -> str | None:
    if file.status == File.Status.VERIFIED:
        return None
    if file.status == File.Status.FAILED:
        return f"{item.path}: {file.failure_reason}"
    if file.status == File.Status.EXPIRED or file.deleted_at is not None:
        return f"{item.path}: the upload expired"
    if file.multipart_uploads.filter(status__in=("pending", "uploaded")).exists():
        return f"{item.path}: its multipart upload is not finished"
    return f"{item.path}: nothing was uploaded"


def _link_problem(item: SessionFile) -> str | None:
    if item.kind != SessionFile.Kind.LINK:
        return None
    if item.linked_at is None:
        return f"{item.path}: the link to {item.link_source} was not created (PUT its links URL)"
    if item.file.status != File.Status.VERIFIED or item.file.deleted_at is not None:
        return f"{item.path}: the linked file {item.link_source} is no longer available"
    return None


def _checked_documents(
    uploads: list[SessionFile], settled: dict[str, File]
) -> list[CheckedDocument]:
    metadata = [item for item in uploads if is_metadata_path(item.path)]
    documents: list[CheckedDocument] = []
    reasons: list[str] = []
    for item, raw in zip(
        metadata, s3_map(lambda i: _read(settled[str(i.file_id)]), metadata), strict=True
    ):
        try:
            document = strict_json.loads(raw)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError
            reasons.append(f"{item.path}: is not JSON ({exc.__class__.__name__}: {exc})")
            continue
        except strict_json.JsonRefused as exc:
            reasons.append(f"{item.path}: {exc.message}")
            continue
        problems = schema_problems(document)
        reasons += [f"{item.path}: {problem}" for problem in problems]
        if not problems:
            documents.append(CheckedDocument(item.path, settled[str(item.file_id)], document))
    if reasons:
        raise CompletionRefused(reasons)
    return documents


def _read(file: File) -> bytes:
    raw = s3.read_object(
        key=file.key, version_id=file.s3_version_id, max_bytes=settings.PROJECT_METADATA_MAX_BYTES
    )
    return raw or b""


def _md5_problem(document: CheckedDocument, files: dict[str, File]) -> str | None:
    """A document naming a data file of the version and its md5sum: S3's ETag of a single PUT
    is the MD5 of the bytes, so the two must agree."""
    path, md5 = document.document.get("path"), document.document.get("md5sum")
    if not isinstance(path, str) or not isinstance(md5, str) or path not in files:
        return None
    etag = files[path].etag.strip('"').lower()
    if len(etag) != 32 or "-" in etag or md5.lower() == etag:
        return None
    return f"{document.path}: md5sum {md5} differs from the MD5 of {path} ({etag})"


def _store(
    session: UploadSession,
    declared: list[SessionFile],
    documents: list[CheckedDocument],
    *,
    job_id: uuid.UUID | str,
) -> dict[str, Any]:
    now = timezone.now()
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=session.project_id)
        session = UploadSession.objects.select_for_update().get(pk=session.pk)
        if session.status != UploadSession.Status.COMPLETING or session.version_id is None:
            raise CompletionRefused([f"the upload was {session.status} meanwhile"])
        version = ProjectVersion.objects.select_for_update().get(pk=session.version_id)
        assert version.entry_id is not None
        project_entry_set_files(
            entry_id=version.entry_id,
            attachments=[
                ProjectAttachment(
                    category="metadata" if is_metadata_path(item.path) else "data",
                    name=item.path,
                    file_id=str(item.file_id),
                )
                for item in declared
            ],
            actor=session.user,
        )
        version.documents.all().delete()
        MetadataDocument.objects.bulk_create(
            [
                MetadataDocument(
                    version=version,
                    path=doc.path,
                    file=doc.file,
                    schema=doc.document["$schema"],
                    document={k: v for k, v in doc.document.items() if k != "_extra"},
                    revision=session.revision,
                )
                for doc in documents
            ]
        )
        permissions = session.permissions
        version.status = ProjectVersion.Status.AVAILABLE
        version.revision = session.revision
        version.completed_at = now
        version.expires_at = session.expires_at
        version.permissions = permissions
        version.save()
        refreshed = [version.pk]
        if permissions.get("scope") == "project":
            project.permissions = permissions
            project.save(update_fields=["permissions"])
            others = ProjectVersion.objects.filter(
                project=project, permissions__scope="project"
            ).exclude(pk=version.pk)
            refreshed += list(others.values_list("pk", flat=True))
            others.update(permissions=permissions)
        search_entries_refresh(version_ids=refreshed)
        session.status = UploadSession.Status.COMPLETED
        session.finished_at = now
        session.save(update_fields=["status", "finished_at"])
        purge_job = Job.objects.select_for_update().get(pk=session.purge_job_id)
        if purge_job.status == Job.Status.PENDING:
            job_cancel(job=purge_job, actor=None)
        result = {
            "project_id": project.accession,
            "version": str(version.version),
            "revision": revision_label(session.revision),
            "indexed_files": len(documents),
            "files": sum(1 for item in declared if item.kind == SessionFile.Kind.UPLOAD),
            "links": sum(1 for item in declared if item.kind == SessionFile.Kind.LINK),
        }
        audit_event(
            actor=session.user, action="project.upload_completed", obj=session, details=result
        )
        job_succeed(job_id=job_id, result=result)
    return result
