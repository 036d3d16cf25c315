"""Who may do what with projects.

Roles (ArtifactDB): `creator` is any member of the group named in the body of
POST /api/projects/upload; `uploader` is the Django permission UPLOADER_PERMISSION and may
provision any project ID and version. Data-level permissions of a version are
`{owners, read_access, write_access, scope}`: read_access public | authenticated | group | owners,
write_access group | owners, scope project | version. Curators (staff) may do everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from core.errors import ApplicationError
from core.types import Actor, AnyUser
from groups.permissions import membership_role, user_is_curator, user_is_pipeline
from projects.models import Project, ProjectVersion

UPLOADER_PERMISSION = "projects.upload_any_project"
READ_ACCESS = ("public", "authenticated", "group", "owners")
WRITE_ACCESS = ("group", "owners")
SCOPES = ("project", "version")


def user_is_uploader(user: Actor) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user_is_curator(user) or bool(user.has_perm(UPLOADER_PERMISSION))


def user_is_member(*, user: AnyUser, project: Project) -> bool:
    return membership_role(user=user, group=project.group) is not None


def _owners(permissions: dict[str, Any]) -> list[str]:
    owners = permissions.get("owners") or []
    return list(owners) if isinstance(owners, list) else [str(owners)]


def user_can_read_version(*, user: AnyUser, version: ProjectVersion) -> bool:
    permissions = version.permissions or {}
    access = permissions.get("read_access", "group")
    if access == "public":
        return True
    if not user.is_authenticated:
        return False
    if access == "authenticated":
        return True
    if user_is_curator(user) or user_is_pipeline(user) or user_is_uploader(user):
        return True
    if user.get_username() in _owners(permissions):
        return True
    return access == "group" and user_is_member(user=user, project=version.project)


def project_write_permissions(project: Project) -> dict[str, Any]:
    return project.permissions or {"write_access": "group", "owners": []}


def user_can_write_project(*, user: AnyUser, project: Project) -> bool:
    """May add a version: per the project's permissions, group members (write_access group)
    or its owners; uploaders and curators always."""
    if not user.is_authenticated:
        return False
    if user_is_uploader(user):
        return True
    permissions = project_write_permissions(project)
    if user.get_username() in _owners(permissions):
        return True
    return permissions.get("write_access", "group") == "group" and user_is_member(
        user=user, project=project
    )


def permissions_normalised(
    given: dict[str, Any], *, default: dict[str, Any], user: Actor
) -> dict[str, Any]:
    """The permissions a completion stores: what was given over the default (the project's
    permissions, else the uploader as owner, group read and write, scope project)."""
    base = {
        "owners": [user.get_username()] if user is not None and user.is_authenticated else [],
        "read_access": "group",
        "write_access": "group",
        "scope": "project",
        **default,
    }
    merged = {**base, **{key: value for key, value in given.items() if value is not None}}
    owners = merged["owners"]
    owners = [owners] if isinstance(owners, str) else list(owners or [])
    checks = (("read_access", READ_ACCESS), ("write_access", WRITE_ACCESS), ("scope", SCOPES))
    for field, allowed in checks:
        if merged[field] not in allowed:
            raise ApplicationError(
                "invalid_permissions",
                f"{field} is one of {', '.join(allowed)}, not {merged[field]!r}.",
                details={"field": field, "allowed": list(allowed)},
            )
    known = set(
        get_user_model().objects.filter(username__in=owners).values_list("username", flat=True)
    )
    unknown = [owner for owner in owners if owner not in known]
    if unknown:
        raise ApplicationError(
            "unknown_owner",
            f"No user is named {', '.join(repr(name) for name in unknown[:10])}.",
            details={"owners": unknown},
        )
    return {
        "owners": list(dict.fromkeys(owners)),
        "read_access": merged["read_access"],
        "write_access": merged["write_access"],
        "scope": merged["scope"],
    }
