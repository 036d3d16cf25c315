"""Project IDs and versions: provisioned by the server (`creator`), or chosen by the client
(`uploader`). Each function runs inside the caller's transaction, with the project row locked
from then on: the upload session that follows starts under the same lock."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from groups.models import Group
from groups.permissions import membership_role
from projects.credentials import promotion_redeem
from projects.errors import ProjectLockedError
from projects.identifiers import validate_project_id
from projects.models import Project, ProjectVersion, UploadSession
from projects.permissions import user_is_uploader
from projects.selectors import project_get_for_writer
from submissions.models import MAX_VERSION
from submissions.services.projects import (
    project_accession_is_entry,
    project_accession_mint,
    project_entry_create,
)


def project_lock_for_upload(*, project: Project) -> Project:
    """Lock the project row for a new upload: 423 while a session holds the lock; a session
    whose deadline passed holds nothing and is purged here, before anything else starts."""
    from projects.services.removal import session_purge_begin

    assert transaction.get_connection().in_atomic_block
    project = Project.objects.select_for_update().select_related("group").get(pk=project.pk)
    now = timezone.now()
    for session in UploadSession.objects.filter(project=project, status__in=UploadSession.ACTIVE):
        if session.deadline > now:
            raise ProjectLockedError(
                project.accession, stage=session.status, until=session.deadline
            )
        session_purge_begin(session_id=session.pk, reason="its deadline passed", actor=None)
    return project


def _new_version(*, project: Project, version: int, user: User) -> ProjectVersion:
    entry = project_entry_create(
        accession=project.accession, version=version, group=project.group, user=user
    )
    return ProjectVersion.objects.create(project=project, version=version, entry=entry)


def user_may_create_in(*, user: User, group: Group) -> bool:
    """The `creator` role: any member of the group; uploaders and curators for every group."""
    return user_is_uploader(user) or membership_role(user=user, group=group) is not None


def project_provision(*, group: Group, user: User) -> ProjectVersion:
    """A new project ID and its version 1, owned by `group`."""
    if not user_may_create_in(user=user, group=group):
        raise ApplicationError("group_not_found", f"No group {group.pk}.", status=404)
    accession = project_accession_mint()
    project = Project.objects.create(accession=accession, group=group, created_by=user)
    audit_event(actor=user, action="project.created", obj=project, details={"group": group.pk})
    project_lock_for_upload(project=project)
    return _new_version(project=project, version=1, user=user)


def version_provision(*, accession: str, user: User) -> ProjectVersion:
    """The next version of an existing project, for those who may write it."""
    project = project_lock_for_upload(
        project=project_get_for_writer(accession=accession, user=user)
    )
    latest = ProjectVersion.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    if latest >= MAX_VERSION:
        raise ApplicationError("too_many_versions", f"Project {accession} has no version left.")
    return _new_version(project=project, version=latest + 1, user=user)


def upload_authorize(*, user: User, accession: str, version: int, credential: str | None) -> None:
    """The fully qualified upload endpoint: role `uploader`, or a `creator` promoted by the
    signed URL the provisioning endpoints made for this very project version and request."""
    if credential:
        promotion_redeem(token=credential, accession=accession, version=version, user=user)
        return
    if not user_is_uploader(user):
        raise ApplicationError(
            "not_uploader",
            "Choosing the project ID and version needs the uploader role; use "
            "POST /api/projects/upload or /api/projects/<id>/upload instead.",
            status=403,
        )


def version_provision_external(
    *, accession: str, version: int, group: Group | None, user: User
) -> ProjectVersion:
    """The version the client named, created (with its project) when new. An uploader may
    upload again to an existing version: the upload becomes its next revision."""
    validate_project_id(accession)
    if not 1 <= version <= MAX_VERSION:
        raise ApplicationError("invalid_version", f"Versions run from 1 to {MAX_VERSION}.")
    project = Project.objects.filter(accession=accession).first()
    if project is None:
        project = _project_external(accession=accession, group=group, user=user)
    project = project_lock_for_upload(project=project)
    found = ProjectVersion.objects.select_for_update().filter(project=project, version=version)
    existing = found.first()
    if existing is None:
        return _new_version(project=project, version=version, user=user)
    if existing.entry_id is None:  # expired: provisioned anew
        existing.entry = project_entry_create(
            accession=accession, version=version, group=project.group, user=user
        )
        existing.status = ProjectVersion.Status.PROVISIONED
        existing.expires_at = existing.expired_at = None
        existing.save(update_fields=["entry", "status", "expires_at", "expired_at"])
    return existing


def _project_external(*, accession: str, group: Group | None, user: User) -> Project:
    if group is None:
        raise ApplicationError(
            "group_required", f"Project {accession} is new: name the group that owns it."
        )
    if accession.startswith(settings.ACCESSION_PREFIX) or project_accession_is_entry(accession):
        raise ApplicationError(
            "reserved_project_id",
            f"Project IDs starting with {settings.ACCESSION_PREFIX} are minted by this "
            "instance; choose another.",
            status=422,
        )
    try:
        with transaction.atomic():
            project = Project.objects.create(accession=accession, group=group, created_by=user)
    except IntegrityError:  # created by a concurrent request meanwhile
        return Project.objects.get(accession=accession)
    audit_event(
        actor=user,
        action="project.created",
        obj=project,
        details={"group": group.pk, "external": True},
    )
    return project
