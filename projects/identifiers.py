"""ArtifactDB identifiers: `<project>:<path>@<version>` for a file of a project version, and
the base64 form the link URLs carry."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from core.errors import ApplicationError
from filesharing.names import filename_problem

PROJECT_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_ARTIFACT_ID = re.compile(r"^(?P<project>[^:@/]+):(?P<path>.+)@(?P<version>\d{1,9})$")
MAX_PATH_LENGTH = 255


@dataclass(frozen=True)
class ArtifactId:
    project_id: str
    path: str
    version: int

    def __str__(self) -> str:
        return f"{self.project_id}:{self.path}@{self.version}"


def artifact_id_parse(text: str) -> ArtifactId | None:
    match = _ARTIFACT_ID.match(text.strip())
    if match is None:
        return None
    return ArtifactId(match["project"], match["path"], int(match["version"]))


def b64_encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def b64_decode(text: str) -> str | None:
    """Standard or URL-safe base64 (ArtifactDB clients send either)."""
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        return raw.decode()
    except (binascii.Error, ValueError):
        return None


def path_problem(path: str) -> str | None:
    """Why `path` cannot name a file of a project version: relative, '/'-separated, each part a
    valid file name (filesharing.names)."""
    if len(path) > MAX_PATH_LENGTH:
        return f"is longer than {MAX_PATH_LENGTH} characters"
    for part in path.split("/"):
        problem = filename_problem(part)
        if problem is not None:
            return f"has a part that {problem}" if "/" in path else problem
    return None


def validate_project_id(project_id: str) -> None:
    if not PROJECT_ID.match(project_id):
        raise ApplicationError(
            "invalid_project_id",
            f"Project ID {project_id!r} must be 1 to 32 letters, digits or underscores.",
        )


def is_metadata_path(path: str) -> bool:
    """Metadata files are the JSON files of a version (ArtifactDB's convention)."""
    return path.lower().endswith(".json")
