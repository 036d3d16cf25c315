from __future__ import annotations

from django.db.models import QuerySet

from core.errors import NotFoundError
from core.types import AnyUser
from groups.models import Group, Membership
from groups.permissions import user_is_curator, user_is_pipeline


def group_list_for_user(*, user: AnyUser) -> QuerySet[Group]:
    """The caller's groups (every group for curators and the pipeline)."""
    if user_is_curator(user) or user_is_pipeline(user):
        return Group.objects.all()
    if not user.is_authenticated:
        return Group.objects.none()
    return Group.objects.filter(memberships__user=user)


def group_get_for_user(*, group_id: int, user: AnyUser) -> Group:
    try:
        return group_list_for_user(user=user).get(pk=group_id)
    except (Group.DoesNotExist, ValueError):
        raise NotFoundError("group", group_id) from None


def group_members(*, group: Group) -> QuerySet[Membership]:
    return group.memberships.select_related("user").order_by("user__username")
