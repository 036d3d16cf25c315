from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import transaction

from core.audit import Actor, audit_event
from core.errors import ApplicationError, NotFoundError
from groups.models import Group, Membership
from groups.permissions import user_is_curator, user_is_group_admin


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


def _require_admin(*, actor: Actor, group: Group) -> None:
    if actor is None or not (
        user_is_group_admin(user=actor, group=group) or user_is_curator(actor)
    ):
        raise ApplicationError(
            "not_group_admin", "Only the group's admins may manage its members.", status=403
        )


def group_member_add(*, actor: Actor, group: Group, username: str, role: str) -> Membership:
    _require_admin(actor=actor, group=group)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFoundError("user", username)
    return group_membership_set(actor=actor, group=group, user=user, role=role)


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
    _require_admin(actor=actor, group=group)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFoundError("member", username)
    group_membership_remove(actor=actor, group=group, user=user)


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
    _require_admin(actor=actor, group=group)
    with transaction.atomic():
        group.institution = institution
        group.contact_email = contact_email
        group.save(update_fields=["institution", "contact_email"])
        audit_event(actor=actor, action="group.updated", obj=group)
    return group
