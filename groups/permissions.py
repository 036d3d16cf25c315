"""Who may act for a group. Curators are staff; the pipeline role is a Django permission."""

from __future__ import annotations

from core.types import Actor, AnyUser
from groups.models import Group, Membership

PIPELINE_PERMISSION = "groups.act_as_pipeline"


def user_is_curator(user: Actor) -> bool:
    if user is None:
        return False
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def user_is_pipeline(user: Actor) -> bool:
    if user is None:
        return False
    return bool(user.is_authenticated and user.has_perm(PIPELINE_PERMISSION))


def membership_role(*, user: AnyUser, group: Group) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user_id=user.pk, group=group)
        .values_list("role", flat=True)
        .first()
    )


def user_can_read_group(*, user: AnyUser, group: Group) -> bool:
    return (
        user_is_curator(user)
        or user_is_pipeline(user)
        or membership_role(user=user, group=group) is not None
    )


def user_is_group_admin(*, user: AnyUser, group: Group) -> bool:
    return membership_role(user=user, group=group) == Membership.Role.ADMIN
