from __future__ import annotations

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
