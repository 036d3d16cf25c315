"""Reads of projects for an actor. A version the caller may not read looks exactly like one
that does not exist."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.converters import BIGINT_MAX
from core.errors import ApplicationError, NotFoundError
from core.models import Job
from core.types import AnyUser
from filesharing.models import File
from groups.models import Group, Membership
from groups.permissions import user_is_curator, user_is_pipeline
from projects.errors import NoSuchVersionError
from projects.models import MetadataDocument, Project, ProjectVersion, UploadSession
from projects.permissions import user_can_read_version, user_can_write_project, user_is_uploader
from submissions.models import EntryFile


def project_get(*, accession: str) -> Project | None:
    return Project.objects.select_related("group").filter(accession=accession).first()


def project_get_for_writer(*, accession: str, user: AnyUser) -> Project:
    """The project if the caller may add versions to it; hidden and missing give the same 404,
    readable but not writable a 403."""
    project = project_get(accession=accession)
    if project is None:
        raise NotFoundError("project", accession)
    if user_can_write_project(user=user, project=project):
        return project
    readable = any(
        user_can_read_version(user=user, version=version)
        for version in project.versions.filter(status=ProjectVersion.Status.AVAILABLE)
    )
    if not readable:
        raise NotFoundError("project", accession)
    raise ApplicationError(
        "not_allowed",
        f"Only the owners of project {accession} may add versions to it.",
        status=403,
    )


def version_get_for_user(*, accession: str, version: int, user: AnyUser) -> ProjectVersion:
    """An available version the caller may read; else ArtifactDB's "No such project/version"."""
    found = (
        ProjectVersion.objects.select_related("project", "project__group")
        .filter(
            project__accession=accession, version=version, status=ProjectVersion.Status.AVAILABLE
        )
        .first()
    )
    if found is None or not user_can_read_version(user=user, version=found):
        raise NoSuchVersionError()
    return found


def version_files(*, version: ProjectVersion) -> dict[str, File]:
    """The version's files by path, as attached to its entry version."""
    if version.entry_id is None:
        return {}
    return {
        attachment.name: attachment.file
        for attachment in EntryFile.objects.filter(
            entry_id=version.entry_id, kind=EntryFile.Kind.INPUT
        ).select_related("file")
    }


def version_documents(*, version: ProjectVersion) -> QuerySet[MetadataDocument]:
    return (
        MetadataDocument.objects.filter(version=version)
        .select_related("file", "search_entry")
        .order_by("path")
    )


def session_active(*, project: Project, now: datetime) -> UploadSession | None:
    """The session holding the project's lock: in progress and before its deadline."""
    return (
        UploadSession.objects.filter(
            project=project, status__in=UploadSession.ACTIVE, deadline__gt=now
        )
        .order_by("-created_at")
        .first()
    )


def session_in_progress(*, accession: str, version: int) -> UploadSession | None:
    return (
        UploadSession.objects.select_related("project", "version", "purge_job")
        .filter(
            project__accession=accession,
            version_number=version,
            status__in=UploadSession.ACTIVE,
        )
        .first()
    )


def session_latest(*, accession: str, version: int) -> UploadSession | None:
    return (
        UploadSession.objects.select_related("project", "version", "purge_job")
        .filter(project__accession=accession, version_number=version)
        .order_by("-created_at")
        .first()
    )


def session_purge_due(*, session_id: str) -> datetime | None:
    """The deadline of an upload still in progress before it; else None."""
    session = UploadSession.objects.filter(
        pk=session_id, status__in=UploadSession.ACTIVE, deadline__gt=timezone.now()
    ).first()
    return session.deadline if session is not None else None


def session_expiry_due(*, session_id: str) -> datetime | None:
    """When a completed transient upload's version expires, if that is still to come."""
    session = UploadSession.objects.filter(
        pk=session_id,
        status=UploadSession.Status.COMPLETED,
        expires_at__gt=timezone.now(),
        expires_job__status=Job.Status.PENDING,
    ).first()
    return session.expires_at if session is not None else None


def readable_versions_q(*, user: AnyUser, prefix: str = "") -> Q | None:
    """A filter of the versions the caller may read (see permissions.user_can_read_version),
    for querysets reaching versions through `prefix`; None means every version."""
    if user.is_authenticated and (
        user_is_curator(user) or user_is_pipeline(user) or user_is_uploader(user)
    ):
        return None
    public = Q(**{f"{prefix}permissions__read_access": "public"})
    if not user.is_authenticated:
        return public
    signed_in = Q(**{f"{prefix}permissions__read_access": "authenticated"})
    groups = Membership.objects.filter(user_id=user.pk).values("group_id")
    group = Q(**{f"{prefix}permissions__read_access": "group"}) & Q(
        **{f"{prefix}project__group_id__in": groups}
    )
    owner = Q(**{f"{prefix}permissions__owners__contains": [user.get_username()]})
    return public | signed_in | group | owner


def group_get_by_reference_for_creator(*, reference: str, user: User) -> Group:
    """A group by ID or name, among the groups `user` may create projects in (uploaders and
    curators: every group). Missing and not allowed answer alike, naming only what was given."""
    groups = (
        Group.objects.all()
        if user_is_uploader(user)
        else Group.objects.filter(memberships__user=user)
    )
    by_id = reference.isdigit() and int(reference) <= BIGINT_MAX
    found = list(groups.filter(pk=int(reference)) if by_id else groups.filter(name=reference)[:2])
    if len(found) != 1:
        raise NotFoundError("group", reference)
    return found[0]
