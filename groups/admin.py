from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from core.errors import ApplicationError
from groups.models import Group, GroupInvitation, Membership
from groups.permissions import user_is_curator
from groups.services import (
    group_create,
    group_invitation_revoke,
    group_membership_remove,
    group_membership_set,
    group_set_quota,
    group_update,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "quota_bytes", "created_at"]
    search_fields = ["name", "institution"]
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Group, form: ModelForm, change: bool) -> None:
        if not change:
            created = group_create(
                user=request.user,  # type: ignore[arg-type]
                name=obj.name,
                institution=obj.institution,
                contact_email=obj.contact_email,
            )
            obj.pk = created.pk
            obj._state.adding = False
        if "quota_bytes" in form.changed_data or (not change and obj.quota_bytes is not None):
            group_set_quota(actor=request.user, group=obj, quota_bytes=obj.quota_bytes)
        if change and {"institution", "contact_email"} & set(form.changed_data):
            group_update(
                actor=request.user,
                group=obj,
                institution=obj.institution,
                contact_email=obj.contact_email,
            )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        group = form.instance
        try:
            for membership in formset.save(commit=False):
                group_membership_set(
                    actor=request.user, group=group, user=membership.user, role=membership.role
                )
            for membership in formset.deleted_objects:
                group_membership_remove(actor=request.user, group=group, user=membership.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["group", "user", "role"]
    list_filter = ["role", "group"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GroupInvitation)
class GroupInvitationAdmin(admin.ModelAdmin):
    """Read-mostly: invitations are made and answered through the API and the website;
    curators add members directly on the group's page. Pending ones may be revoked here."""

    list_display = ["username", "group", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["=username", "group__name"]
    list_select_related = ["group", "invited_by"]
    readonly_fields = [
        "id",
        "group",
        "username",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "answered_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return user_is_curator(request.user)

    @admin.action(description="Revoke the selected pending invitations", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[GroupInvitation]) -> None:
        revoked = 0
        pending = queryset.filter(status=GroupInvitation.Status.PENDING).select_related("group")
        for invitation in pending:
            try:
                group_invitation_revoke(
                    actor=request.user, group=invitation.group, invitation_id=invitation.pk
                )
            except ApplicationError:
                continue  # expired or answered meanwhile: nothing to revoke
            revoked += 1
        self.message_user(request, f"{revoked} invitation(s) revoked.", messages.SUCCESS)
