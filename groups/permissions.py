"""Who may act for a group. Curators are staff; the pipeline role is a Django permission."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.types import Actor, AnyUser
from groups.models import Group, Membership
from groups.pipeline import PIPELINE_PERMISSION, pipeline_known


def user_is_curator(user: Actor) -> bool:
    if user is None:
        return False
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def user_is_pipeline(user: Actor) -> bool:
    if user is None:
        return False
    known = pipeline_known(user)
    if known is not None:
        return known
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


def require_group_admin(*, actor: Actor, group: Group) -> None:
    """Managing members and invitations: the group's admins and curators."""
    if actor is None or not (
        user_is_group_admin(user=actor, group=group) or user_is_curator(actor)
    ):
        raise ApplicationError(
            "not_group_admin", "Only the group's admins may manage its members.", status=403
        )


class IsPipeline(BasePermission):
    """DRF permission of the pipeline's endpoints: checked before the request is read, so
    that other callers learn nothing from how their input would have been judged."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # 401 not_authenticated
        if not user_is_pipeline(request.user):
            raise ApplicationError(
                "not_pipeline", "Only the preprocessing pipeline may do this.", status=403
            )
        return True
