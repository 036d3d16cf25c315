from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from core.errors import NotFoundError
from core.types import AnyUser
from groups.models import Group, GroupInvitation, Membership
from groups.permissions import require_group_admin, user_is_curator, user_is_pipeline


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


def _pending_invitations() -> QuerySet[GroupInvitation]:
    return GroupInvitation.objects.filter(
        status=GroupInvitation.Status.PENDING, expires_at__gt=timezone.now()
    ).select_related("group", "invited_by")


def invitation_list_for_user(*, user: AnyUser) -> QuerySet[GroupInvitation]:
    """The caller's own pending, unexpired invitations, newest first."""
    if not user.is_authenticated:
        return GroupInvitation.objects.none()
    return _pending_invitations().filter(username=user.get_username()).order_by("-created_at", "pk")


def group_invitation_list_for_user(*, group: Group, user: AnyUser) -> QuerySet[GroupInvitation]:
    """The group's pending, unexpired invitations, for its admins and curators (403
    not_group_admin for its other readers)."""
    require_group_admin(actor=user, group=group)
    return _pending_invitations().filter(group=group).order_by("username")
