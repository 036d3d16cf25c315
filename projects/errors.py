"""Refusals that ArtifactDB clients read in ArtifactDB's own shape,
`{"status": "error", "reason": …}`, rather than seqvault's `{"error": {…}}`: a project lock
(423) and a project version that does not exist or is hidden (404)."""

from __future__ import annotations

from datetime import datetime

from core.errors import ApplicationError

ALL_PROJECTS = "__all_projects__"  # the global lock of re-indexing


class ArtifactDBError(ApplicationError):
    pass


class ProjectLockedError(ArtifactDBError):
    def __init__(self, project_id: str, *, stage: str, until: datetime | None = None) -> None:
        info: dict[str, object] = {"stage": stage}
        if until is not None:
            info["complete_before"] = until.isoformat()
        super().__init__(
            "project_locked",
            f"Project '{project_id}' is locked: {info}",
            status=423,
            details={"project_id": project_id, **info},
        )


class NoSuchVersionError(ArtifactDBError):
    def __init__(self) -> None:
        super().__init__("no_such_version", "No such project/version", status=404)
