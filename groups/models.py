from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Group(models.Model):
    """A research group: it owns files and entries; its members share them until release."""

    # Not unique across groups: a refused name would tell anyone that a group of that name
    # exists. A person's own groups have distinct names (groups.services.group_create).
    name = models.CharField(max_length=150, db_index=True)
    institution = models.CharField(max_length=255, blank=True)
    contact_email = models.EmailField(blank=True)
    quota_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Storage the group may use, in bytes; empty for none."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("act_as_pipeline", "Can act as the preprocessing pipeline for every group"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quota_bytes__isnull=True) | models.Q(quota_bytes__gte=0),
                name="group_quota_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member"
        ADMIN = "admin"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "user"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.role})"


class GroupInvitation(models.Model):
    """An admin's offer of membership to a username, which its holder accepts or declines.

    Stored by username, never looked up as a user when it is made: the answer to the admin
    is the same whether an account of that name exists, so inviting tells nobody which
    usernames exist. Pending past `expires_at`, it can no longer be answered."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        REVOKED = "revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150, help_text="As the admin typed it.")
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was accepted, declined or revoked."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Inviting again refreshes the pending invitation; it also serves the group's list.
            models.UniqueConstraint(
                fields=["group", "username"],
                condition=models.Q(status="pending"),
                name="group_invitation_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", answered_at__isnull=True)
                | (~models.Q(status="pending") & models.Q(answered_at__isnull=False)),
                name="group_invitation_answered_when_not_pending",
            ),
        ]
        indexes = [
            # The invitee's pending invitations.
            models.Index(
                fields=["username", "expires_at"],
                condition=models.Q(status="pending"),
                name="group_invitation_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} to {self.group} ({self.status})"
