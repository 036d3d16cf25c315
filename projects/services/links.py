"""Links (ArtifactDB's deduplication): a file of the new version that is a file of an earlier
one, found by ID (`<project>:<path>@<version>`, any project the caller may read) or by checksum
within the project (md5 from a metadata field, sha256 from what was verified or a metadata
field). A link refers to the same File row: nothing is copied or uploaded again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Expression, F
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError, NotFoundError
from core.types import AnyUser
from filesharing.models import File
from projects.credentials import link_verify
from projects.documents import described_path
from projects.identifiers import ArtifactId, artifact_id_parse, b64_decode, is_metadata_path
from projects.models import MetadataDocument, Project, ProjectVersion, SessionFile, UploadSession
from projects.permissions import user_can_read_version, user_is_uploader
from projects.selectors import version_files
from submissions.models import EntryFile

CHECKS = ("link", "md5", "sha256")
_FIELD = re.compile(r"^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$")
_HEX = {"md5": re.compile(r"^[0-9a-fA-F]{32}$"), "sha256": re.compile(r"^[0-9a-fA-F]{64}$")}


@dataclass(frozen=True)
class LinkRequest:
    check: str  # link, md5 or sha256
    value: Any


@dataclass(frozen=True)
class ResolvedLink:
    check: str
    source_id: str  # the ArtifactDB ID of the file linked to
    file: File


def _not_found(path: str, what: str) -> ApplicationError:
    return ApplicationError(
        "link_target_not_found",
        f"{path}: {what}.",
        details={"filename": path},
    )


def links_resolve(
    *, user: User, project: Project, version: int, requests: dict[str, LinkRequest]
) -> dict[str, ResolvedLink]:
    resolved: dict[str, ResolvedLink] = {}
    for path, request in requests.items():
        if request.check == "link":
            resolved[path] = _by_id(user=user, path=path, value=request.value)
        elif request.check in ("md5", "sha256"):
            resolved[path] = _by_checksum(
                user=user, project=project, path=path, check=request.check, value=request.value
            )
        else:
            raise ApplicationError("invalid_check", f"{path}: check is one of {', '.join(CHECKS)}.")
        if resolved[path].source_id == f"{project.accession}:{path}@{version}":
            raise _not_found(path, "a file cannot link to itself")
        if not _may_cite(project=project, file=resolved[path].file):
            # Answered like a file that does not exist: reading another group's file does not
            # make it yours to cite (its entry would publish it on release).
            raise _not_found(path, f"no file {resolved[path].source_id} that you may link")
    return resolved


def _may_cite(*, project: Project, file: File) -> bool:
    """A version cites files of its own group, or files already released (public for good)."""
    return file.group_id == project.group_id or file.released_at is not None


def _linkable(user: AnyUser, artifact: ArtifactId) -> File | None:
    found = (
        ProjectVersion.objects.select_related("project", "project__group")
        .filter(
            project__accession=artifact.project_id,
            version=artifact.version,
            status=ProjectVersion.Status.AVAILABLE,
        )
        .first()
    )
    if found is None or not user_can_read_version(user=user, version=found):
        return None
    file = version_files(version=found).get(artifact.path)
    if file is None or file.status != File.Status.VERIFIED or file.deleted_at is not None:
        return None
    return file


def _by_id(*, user: User, path: str, value: Any) -> ResolvedLink:
    text = value.get("artifactdb_id") if isinstance(value, dict) else value
    artifact = artifact_id_parse(text) if isinstance(text, str) else None
    if artifact is None:
        raise ApplicationError(
            "invalid_link",
            f"{path}: a link names an ArtifactDB ID, <project>:<file>@<version>.",
            details={"filename": path},
        )
    if is_metadata_path(artifact.path):
        raise ApplicationError(
            "metadata_link_unsupported", f"{path}: only data files are linked, not {artifact}."
        )
    file = _linkable(user, artifact)
    if file is None:
        raise _not_found(path, f"no file {artifact} that you may read")
    return ResolvedLink(check="link", source_id=str(artifact), file=file)


def _checksum_value(path: str, check: str, value: Any) -> tuple[str | None, str]:
    """(metadata field or None, checksum) from {"field": f, f: v}, {check: v} or v."""
    field: Any = None
    checksum: Any = None
    if isinstance(value, str):
        checksum = value
    elif isinstance(value, dict):
        field = value.get("field")
        checksum = value.get(field) if isinstance(field, str) else value.get(check)
        if field is not None and (not isinstance(field, str) or not _FIELD.match(field)):
            raise ApplicationError("invalid_link", f"{path}: field {field!r} is not a field path.")
    if not isinstance(checksum, str) or not _HEX[check].match(checksum):
        raise ApplicationError(
            "invalid_link",
            f"{path}: give the {check} checksum to link by.",
            details={"filename": path},
        )
    if field is None and check == "md5":
        field = "md5sum"
    return field, checksum


def _by_checksum(
    *, user: User, project: Project, path: str, check: str, value: Any
) -> ResolvedLink:
    field, checksum = _checksum_value(path, check, value)
    found = (
        _by_metadata_field(user, project, field, checksum)
        if field is not None
        else _by_sha256(user, project, checksum.lower())
    )
    if found is None:
        raise _not_found(
            path, f"no data file of project {project.accession} has the {check} {checksum}"
        )
    source_id, file = found
    return ResolvedLink(check=check, source_id=source_id, file=file)


def _field_expression(field: str) -> Expression:
    *parents, last = field.split(".")
    expression: Any = F("document")
    for part in parents:
        expression = KeyTransform(part, expression)
    return KeyTextTransform(last, expression)


def _by_metadata_field(
    user: User, project: Project, field: str, checksum: str
) -> tuple[str, File] | None:
    """ArtifactDB: within the project's metadata, a document whose `field` holds the checksum;
    the link goes to the data file it describes."""
    documents = (
        MetadataDocument.objects.filter(
            version__project=project, version__status=ProjectVersion.Status.AVAILABLE
        )
        .annotate(checksum=_field_expression(field))
        .filter(checksum=checksum)
        .select_related("version", "version__project", "file")
        .order_by("-version__version", "path")
    )
    for document in documents:
        if not user_can_read_version(user=user, version=document.version):
            continue
        files = version_files(version=document.version)
        target = described_path(document, files)
        file = files.get(target)
        if target != document.path and file is not None and file.status == File.Status.VERIFIED:
            return f"{project.accession}:{target}@{document.version.version}", file
    return None


def _by_sha256(user: User, project: Project, checksum: str) -> tuple[str, File] | None:
    attachments = (
        EntryFile.objects.filter(
            entry__project_version__project=project,
            entry__project_version__status=ProjectVersion.Status.AVAILABLE,
            category="data",
            file__sha256=checksum,
            file__status=File.Status.VERIFIED,
            file__deleted_at__isnull=True,
        )
        .select_related("file", "entry__project_version__project")
        .order_by("-entry__version", "name")
    )
    for attachment in attachments:
        version = attachment.entry.project_version  # type: ignore[attr-defined]
        if user_can_read_version(user=user, version=version):
            return f"{project.accession}:{attachment.name}@{version.version}", attachment.file
    return None


# --- the link URL -----------------------------------------------------------------------------


def link_create(
    *, source_b64: str, target_b64: str, credential: str | None, user: AnyUser
) -> SessionFile:
    """PUT /api/link/<source>/to/<target>: create one declared link of an upload in progress;
    with the signed credential of its `links` URL, or as an uploader. Idempotent."""
    source, target_text = b64_decode(source_b64), b64_decode(target_b64)
    target = artifact_id_parse(target_text) if target_text else None
    if source is None or target is None:
        raise NotFoundError("link", f"{source_b64}/to/{target_b64}")
    with transaction.atomic():
        link = (
            SessionFile.objects.select_for_update()
            .select_related("session", "session__project")
            .filter(
                session__project__accession=target.project_id,
                session__version_number=target.version,
                session__status__in=UploadSession.ACTIVE,
                path=target.path,
                kind=SessionFile.Kind.LINK,
                link_source=source,
            )
            .first()
        )
        if link is None:
            raise NotFoundError("link", f"{source} to {target}")
        if credential:
            grant = link_verify(token=credential)
            if grant.session_id != str(link.session_id) or grant.path != link.path:
                raise ApplicationError(
                    "invalid_credential", "This signed URL creates another link.", status=403
                )
        elif not user_is_uploader(user):
            raise NotFoundError("link", f"{source} to {target}")
        if link.session.status != UploadSession.Status.UPLOADING:
            raise ApplicationError(
                "upload_not_open", "The upload is being completed; links are settled.", status=409
            )
        if link.session.deadline <= timezone.now():
            raise ApplicationError(
                "upload_deadline_passed", "The upload's deadline has passed.", status=409
            )
        if link.linked_at is None:
            link.linked_at = timezone.now()
            link.save(update_fields=["linked_at"])
            audit_event(
                actor=user,
                action="project.link_created",
                obj=link.session,
                details={"source": source, "target": str(target), "file": str(link.file_id)},
            )
    return link
