"""The pipeline role: a Django permission, read with the user where that saves queries.

Free of DRF imports: token authentication uses it while DRF loads its settings.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.db.models import Exists, OuterRef

PIPELINE_PERMISSION = "groups.act_as_pipeline"
# Set on a user by whoever read the pipeline permission with it (token authentication does,
# in the query that finds the token), so that the request asks no more.
_KNOWN = "_seqvault_is_pipeline"


@cache
def pipeline_permission_annotations(user_id: str) -> dict[str, Exists]:
    """Subqueries telling whether the user in the outer query's column `user_id` holds the
    pipeline permission itself or through one of its Django groups: read with the user, they
    save the two permission queries of `has_perm`. Each probes one link table, so that they
    add little to planning the query. Built once: Django copies expressions as it resolves
    them, so the same ones serve every query. See `remember_pipeline`."""
    app_label, codename = PIPELINE_PERMISSION.split(".")
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).values("pk")
    user_links = User.user_permissions.through.objects
    group_links = Group.permissions.through.objects
    memberships = User.groups.through.objects.filter(user_id=OuterRef(OuterRef(user_id)))
    return {
        "pipeline_held_directly": Exists(
            user_links.filter(user_id=OuterRef(user_id), permission_id__in=permission)
        ),
        "pipeline_held_by_group": Exists(
            group_links.filter(
                permission_id__in=permission, group_id__in=memberships.values("group_id")
            )
        ),
    }


def remember_pipeline(user: Any, row: Any) -> None:
    """Record on `user` what `row`, annotated by `pipeline_permission_annotations`, read: what
    `has_perm` would answer for an active user (superusers hold every permission)."""
    held = user.is_superuser or row.pipeline_held_directly or row.pipeline_held_by_group
    setattr(user, _KNOWN, bool(held))


def pipeline_known(user: Any) -> bool | None:
    """What `remember_pipeline` recorded on this user object, or None."""
    known: bool | None = getattr(user, _KNOWN, None)
    return known
