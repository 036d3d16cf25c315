"""Starting an upload session: files to come (presigned PUTs, multipart uploads or temporary
credentials), links to files that exist, the deadline and the jobs that settle it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from core.queueing import enqueue_on_commit
from core.services import job_create
from filesharing import s3
from filesharing.models import File
from filesharing.services.session_files import ReservedFile, files_reserve
from groups.permissions import user_can_read_group
from projects.deadlines import expiry, upload_deadline
from projects.errors import ProjectLockedError
from projects.identifiers import is_metadata_path, path_problem
from projects.models import ProjectVersion, SessionFile, UploadSession
from projects.services.links import LinkRequest, ResolvedLink, links_resolve

Mode = UploadSession.Mode


@dataclass(frozen=True)
class FileRequest:
    path: str
    size: int | None = None
    sha256: str | None = None  # hex or base64
    link: LinkRequest | None = None


@dataclass(frozen=True)
class SessionRequest:
    files: list[FileRequest]
    completed_by: str | None = None
    expires_in: str | None = None
    mode: str = Mode.PRESIGNED


@dataclass
class SessionStarted:
    session: UploadSession
    files: dict[str, File]  # uploads by path
    links: dict[str, ResolvedLink]
    uploads: dict[str, s3.PresignedRequest] = field(default_factory=dict)
    sts: s3.TemporaryCredentials | None = None


def _checked_files(request: SessionRequest) -> list[FileRequest]:
    if not 1 <= len(request.files) <= settings.MAX_FILES_PER_REQUEST:
        raise ApplicationError(
            "too_many_files",
            f"Declare between 1 and {settings.MAX_FILES_PER_REQUEST} files in one upload.",
            details={"declared": len(request.files)},
        )
    seen: set[str] = set()
    files = []
    for index, item in enumerate(request.files):
        problem = path_problem(item.path)
        if problem is not None:
            raise ApplicationError(
                "invalid_filename",
                f"filenames[{index}]: {item.path!r} {problem}.",
                details={"name": item.path, "problem": problem},
            )
        if item.path in seen:
            raise ApplicationError(
                "duplicate_filename", f"filenames[{index}]: {item.path!r} is named twice."
            )
        seen.add(item.path)
        if item.link is not None and is_metadata_path(item.path):
            raise ApplicationError(
                "metadata_link_unsupported",
                f"filenames[{index}]: {item.path!r} is a metadata file; only data files are "
                "linked.",
            )
        if item.link is None and request.mode == Mode.MULTIPART and item.size is None:
            raise ApplicationError(
                "size_required",
                f"filenames[{index}]: multipart uploads need the size of {item.path!r}.",
            )
        sha256 = s3.sha256_hex_from_any(item.sha256) if item.sha256 else None
        files.append(FileRequest(path=item.path, size=item.size, sha256=sha256, link=item.link))
    return files


def _check_mode(*, mode: str, user: User, version: ProjectVersion) -> None:
    if mode not in Mode.values:
        raise ApplicationError(
            "invalid_mode", f"mode is one of {', '.join(Mode.values)}, not {mode!r}."
        )
    if mode == Mode.MULTIPART and not user_can_read_group(user=user, group=version.project.group):
        raise ApplicationError(
            "multipart_not_allowed",
            "Multipart uploads go through the files API, open to members of the project's "
            "group; use s3-presigned-url or sts-credentials.",
            status=403,
        )


def session_start(
    *, version: ProjectVersion, user: User, request: SessionRequest
) -> SessionStarted:
    """Inside the caller's transaction, the project row locked by provisioning (see
    provisioning.project_lock_for_upload)."""
    from projects.tasks import expire_version_task, purge_session_task

    files = _checked_files(request)
    _check_mode(mode=request.mode, user=user, version=version)
    s3.require_available()
    now = timezone.now()
    deadline = upload_deadline(request.completed_by, now=now)
    expires_at = expiry(request.expires_in, now=now, deadline=deadline)
    links = links_resolve(
        user=user,
        project=version.project,
        version=version.version,
        requests={item.path: item.link for item in files if item.link is not None},
    )
    with transaction.atomic():
        version = (
            ProjectVersion.objects.select_for_update().select_related("project").get(pk=version.pk)
        )
        _refuse_if_locked(version)
        purge_job = job_create(kind="project.purge", actor=user)
        expires_job = job_create(kind="project.expire", actor=user) if expires_at else None
        uploads = [item for item in files if item.link is None]
        reserved = files_reserve(
            group=version.project.group,
            uploader=user,
            specs=[
                ReservedFile(name=item.path.rsplit("/", 1)[-1], size=item.size, sha256=item.sha256)
                for item in uploads
            ],
            deadline=deadline,
            actor=user,
        )
        session = UploadSession.objects.create(
            project=version.project,
            version=version,
            version_number=version.version,
            revision=version.revision + 1,
            user=user,
            mode=request.mode,
            deadline=deadline,
            expires_at=expires_at,
            purge_job=purge_job,
            expires_job=expires_job,
        )
        if request.mode == Mode.STS:
            session.staging_prefix = (
                f"staging/{version.project.accession}/{version.version}/{session.pk}/"
            )
            session.save(update_fields=["staging_prefix"])
        by_path = {item.path: file for item, file in zip(uploads, reserved, strict=True)}
        _record_files(session, by_path, links)
        audit_event(
            actor=user,
            action="project.upload_started",
            obj=session,
            details={
                "project": version.project.accession,
                "version": version.version,
                "mode": request.mode,
                "files": len(by_path),
                "links": len(links),
                "deadline": deadline.isoformat(),
            },
        )
        credentials = _sts(session) if request.mode == Mode.STS else None
        session_id = str(session.pk)
        enqueue_on_commit(
            purge_session_task, session_id, eta=deadline, recovered_by="sweep_project_uploads_task"
        )
        if expires_at is not None:
            enqueue_on_commit(
                expire_version_task,
                session_id,
                eta=expires_at,
                recovered_by="sweep_project_uploads_task",
            )
    return SessionStarted(
        session=session,
        files=by_path,
        links=links,
        uploads=_presigned(session, by_path, now=now) if request.mode == Mode.PRESIGNED else {},
        sts=credentials,
    )


def _refuse_if_locked(version: ProjectVersion) -> None:
    active = (
        UploadSession.objects.filter(
            project=version.project_id,
            status__in=UploadSession.ACTIVE,
            deadline__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )
    if active is not None:
        raise ProjectLockedError(
            version.project.accession, stage=active.status, until=active.deadline
        )


def _record_files(
    session: UploadSession, uploads: dict[str, File], links: dict[str, ResolvedLink]
) -> None:
    rows = [
        SessionFile(session=session, path=path, kind=SessionFile.Kind.UPLOAD, file=file)
        for path, file in uploads.items()
    ] + [
        SessionFile(
            session=session,
            path=path,
            kind=SessionFile.Kind.LINK,
            file=link.file,
            check_type=link.check,
            link_source=link.source_id,
        )
        for path, link in links.items()
    ]
    SessionFile.objects.bulk_create(rows)


def _presigned(
    session: UploadSession, files: dict[str, File], *, now: datetime
) -> dict[str, s3.PresignedRequest]:
    # Valid until the deadline, to the second after it.
    lifetime = timedelta(seconds=math.ceil((session.deadline - now).total_seconds()))
    return {
        path: s3.presign_session_put(
            key=file.key,
            size=file.declared_size,
            sha256_hex=file.declared_sha256 or None,
            lifetime=lifetime,
            now=now,
        )
        for path, file in files.items()
    }


def _sts(session: UploadSession) -> s3.TemporaryCredentials:
    return s3.sts_credentials(
        prefix=session.staging_prefix,
        lifetime=session.deadline - timezone.now(),
        session_name=f"seqvault-upload-{session.pk.hex[:16]}",
    )
