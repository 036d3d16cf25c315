from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from core.errors import ApplicationError, NotFoundError
from groups.models import Group, GroupInvitation, Membership
from groups.permissions import require_group_admin, user_is_curator


def group_create(
    *,
    user: User,
    name: str,
    institution: str = "",
    contact_email: str = "",
) -> Group:
    """A new group with `user` as its admin. Only the names of the creator's own groups are
    refused: whether another group bears the name is not the creator's to know."""
    with transaction.atomic():
        # Serialises one person's creations, so that two at once cannot both take the name.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if Group.objects.filter(name=name, memberships__user=user).exists():
            raise ApplicationError(
                "group_name_taken", f"You are already in a group named {name!r}.", status=409
            )
        group = Group.objects.create(
            name=name, institution=institution, contact_email=contact_email
        )
        Membership.objects.create(group=group, user=user, role=Membership.Role.ADMIN)
        audit_event(actor=user, action="group.created", obj=group, details={"name": name})
    return group


def group_member_add(
    *, actor: Actor, group: Group, username: str, role: str
) -> Membership | GroupInvitation:
    """A member's role is changed; anyone else is invited. Whether an account of that name
    exists is never looked up here: the admin gets the same answer, after the same queries,
    for every username that is not a member (the members are the admin's to see anyway)."""
    require_group_admin(actor=actor, group=group)
    membership = (
        Membership.objects.select_related("user")
        .filter(group=group, user__username=username)
        .first()
    )
    if membership is not None:
        return group_membership_set(actor=actor, group=group, user=membership.user, role=role)
    return group_invitation_send(actor=actor, group=group, username=username, role=role)


def group_invitation_send(
    *, actor: Actor, group: Group, username: str, role: str
) -> GroupInvitation:
    """Invite `username` with `role`; a pending invitation of the same name is refreshed (its
    role and expiry), so that inviting twice is the same as inviting once. Callers check who
    may do it."""
    expires_at = timezone.now() + timedelta(days=settings.GROUP_INVITATION_DAYS)
    inviter = actor if isinstance(actor, User) else None
    with transaction.atomic():
        # Serialises invitations to one group: two at once cannot both create the pending one.
        Group.objects.select_for_update().filter(pk=group.pk).first()
        invitation = GroupInvitation.objects.filter(
            group=group, username=username, status=GroupInvitation.Status.PENDING
        ).first()
        if invitation is None:
            invitation = GroupInvitation.objects.create(
                group=group,
                username=username,
                role=role,
                invited_by=inviter,
                expires_at=expires_at,
            )
            action = "group.invitation_sent"
        else:
            invitation.role = role
            invitation.expires_at = expires_at
            invitation.invited_by = inviter
            invitation.save(update_fields=["role", "expires_at", "invited_by"])
            action = "group.invitation_refreshed"
        audit_event(actor=actor, action=action, obj=group, details=_invitation_details(invitation))
    invitation.group = group
    return invitation


def _invitation_details(invitation: GroupInvitation) -> dict[str, str]:
    return {
        "invitation": str(invitation.pk),
        "username": invitation.username,
        "role": invitation.role,
    }


def _pending_invitation(*, invitation_id: uuid.UUID | str, **match: Any) -> GroupInvitation:
    """The pending, unexpired invitation, locked; missing, answered, expired and another's
    look alike (404 invitation_not_found)."""
    invitation = (
        GroupInvitation.objects.select_for_update(of=("self",))
        .select_related("group", "invited_by")
        .filter(
            pk=invitation_id,
            status=GroupInvitation.Status.PENDING,
            expires_at__gt=timezone.now(),
            **match,
        )
        .first()
    )
    if invitation is None:
        raise NotFoundError("invitation", invitation_id)
    return invitation


def _answer(invitation: GroupInvitation, status: str) -> None:
    invitation.status = status
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])


def group_invitation_accept(*, user: User, invitation_id: uuid.UUID | str) -> GroupInvitation:
    """The invitee joins the group with the invited role. Someone already a member (a curator
    added them meanwhile) keeps their membership as it is."""
    with transaction.atomic():
        invitation = _pending_invitation(invitation_id=invitation_id, username=user.get_username())
        _answer(invitation, GroupInvitation.Status.ACCEPTED)
        details = _invitation_details(invitation)
        audit_event(
            actor=user, action="group.invitation_accepted", obj=invitation.group, details=details
        )
        _, created = Membership.objects.get_or_create(
            group=invitation.group, user=user, defaults={"role": invitation.role}
        )
        if created:
            audit_event(
                actor=user, action="group.member_added", obj=invitation.group, details=details
            )
    return invitation


def group_invitation_decline(*, user: User, invitation_id: uuid.UUID | str) -> GroupInvitation:
    with transaction.atomic():
        invitation = _pending_invitation(invitation_id=invitation_id, username=user.get_username())
        _answer(invitation, GroupInvitation.Status.DECLINED)
        audit_event(
            actor=user,
            action="group.invitation_declined",
            obj=invitation.group,
            details=_invitation_details(invitation),
        )
    return invitation


def group_invitation_revoke(
    *, actor: Actor, group: Group, invitation_id: uuid.UUID | str
) -> GroupInvitation:
    require_group_admin(actor=actor, group=group)
    with transaction.atomic():
        invitation = _pending_invitation(invitation_id=invitation_id, group=group)
        _answer(invitation, GroupInvitation.Status.REVOKED)
        audit_event(
            actor=actor,
            action="group.invitation_revoked",
            obj=group,
            details=_invitation_details(invitation),
        )
    return invitation


def group_membership_set(*, actor: Actor, group: Group, user: User, role: str) -> Membership:
    """Add `user` with `role`, or change the role. Callers check who may do it."""
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            group=group, user=user, defaults={"role": role}
        )
        if not created and membership.role == role:
            return membership
        if not created:
            _keep_an_admin(group=group, leaving=membership, new_role=role)
            membership.role = role
            membership.save(update_fields=["role"])
        audit_event(
            actor=actor,
            action="group.member_added" if created else "group.member_role_changed",
            obj=group,
            details={"username": user.get_username(), "role": role},
        )
    return membership


def user_grant_pipeline_role(*, actor: Actor, user: User) -> None:
    permission = Permission.objects.get(
        codename="act_as_pipeline", content_type__app_label="groups"
    )
    with transaction.atomic():
        user.user_permissions.add(permission)
        audit_event(actor=actor, action="user.pipeline_role_granted", obj=user)


def group_member_remove(*, actor: Actor, group: Group, username: str) -> None:
    """Users who are not members and names of no user are refused alike (member_not_found),
    after the same query."""
    require_group_admin(actor=actor, group=group)
    membership = (
        Membership.objects.select_related("user")
        .filter(group=group, user__username=username)
        .first()
    )
    if membership is None:
        raise NotFoundError("member", username)
    group_membership_remove(actor=actor, group=group, user=membership.user)


def group_membership_remove(*, actor: Actor, group: Group, user: User) -> None:
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(group=group, user=user).first()
        if membership is None:
            raise NotFoundError("member", user.get_username())
        _keep_an_admin(group=group, leaving=membership, new_role=None)
        membership.delete()
        audit_event(
            actor=actor,
            action="group.member_removed",
            obj=group,
            details={"username": user.get_username()},
        )


def _keep_an_admin(*, group: Group, leaving: Membership, new_role: str | None) -> None:
    """A group never loses its last admin: nobody could manage it afterwards."""
    if leaving.role != Membership.Role.ADMIN or new_role == Membership.Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(group=group, role=Membership.Role.ADMIN)
    if admins.exclude(pk=leaving.pk).count() == 0:
        raise ApplicationError("last_admin", "A group must keep at least one admin.", status=409)


def group_set_quota(*, actor: Actor, group: Group, quota_bytes: int | None) -> Group:
    if not user_is_curator(actor):
        raise ApplicationError("not_curator", "Only curators may set quotas.", status=403)
    if quota_bytes is not None and quota_bytes < 0:
        raise ApplicationError("invalid_quota", "A quota cannot be negative.")
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        old = group.quota_bytes
        group.quota_bytes = quota_bytes
        group.save(update_fields=["quota_bytes"])
        audit_event(
            actor=actor,
            action="group.quota_set",
            obj=group,
            details={"old": old, "new": quota_bytes},
        )
    return group


def group_update(*, actor: Actor, group: Group, institution: str, contact_email: str) -> Group:
    require_group_admin(actor=actor, group=group)
    with transaction.atomic():
        group.institution = institution
        group.contact_email = contact_email
        group.save(update_fields=["institution", "contact_email"])
        audit_event(actor=actor, action="group.updated", obj=group)
    return group
