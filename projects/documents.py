"""Metadata documents as ArtifactDB serves them: the document itself and its `_extra` block."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from filesharing.models import File
from projects.models import MetadataDocument, ProjectVersion, revision_label
from projects.schemas import schema_type

INDEX_NAME = "seqvault-projects"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def described_path(document: MetadataDocument, files: dict[str, File]) -> str:
    """The file a metadata document describes: its `path` when that names a file of the
    version, else the metadata file itself."""
    path = document.document.get("path")
    return path if isinstance(path, str) and path in files else document.path


def document_extra(
    document: MetadataDocument,
    *,
    version: ProjectVersion,
    files: dict[str, File],
    indexed_at: datetime | None,
) -> dict[str, Any]:
    accession = version.project.accession
    path = described_path(document, files)
    data_file = files.get(path, document.file)
    extra: dict[str, Any] = {
        "project_id": accession,
        "version": str(version.version),
        "revision": revision_label(document.revision),
        "numerical_revision": document.revision,
        "metapath": document.path,
        "meta_uploaded": _iso(document.file.verified_at),
        "uploaded": _iso(data_file.verified_at),
        "file_size": data_file.size,
        "file_id": str(data_file.pk),
        "permissions": version.permissions,
        "type": schema_type(document.schema),
        "id": f"{accession}:{path}@{version.version}",
        "$schema": document.schema,
        "meta_indexed": _iso(indexed_at),
        "index_name": INDEX_NAME,
    }
    if version.expires_at is not None:
        extra["transient"] = {"expires_at": version.expires_at.isoformat()}
    return extra


def document_body(
    document: MetadataDocument,
    *,
    version: ProjectVersion,
    files: dict[str, File],
    indexed_at: datetime | None,
) -> dict[str, Any]:
    # As ArtifactDB serves it: `$schema` moves into `_extra`.
    body = {k: v for k, v in document.document.items() if k not in ("_extra", "$schema")}
    body["_extra"] = document_extra(document, version=version, files=files, indexed_at=indexed_at)
    return body
