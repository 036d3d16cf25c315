"""My groups, a group's files, its members and details."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, NotFoundError
from filesharing.selectors import FileFilters, file_list_for_user, group_storage_used
from groups.models import Group, GroupInvitation, Membership
from groups.permissions import membership_role, user_is_curator, user_is_group_admin
from groups.selectors import group_invitation_list_for_user, group_list_for_user, group_members
from groups.services import (
    group_create,
    group_invitation_revoke,
    group_member_add,
    group_member_remove,
    group_membership_set,
    group_update,
)
from web.forms import (
    FileFilterForm,
    GroupCreateForm,
    GroupDetailsForm,
    MemberAddForm,
    MemberRoleForm,
)
from web.views.common import PAGE_SIZE, group_for, not_found_as_404, paginate, signed_in_user


def group_summary(request: HttpRequest, group: Group) -> dict[str, Any]:
    """What the header of every group page shows: role, storage used against the quota."""
    role = membership_role(user=request.user, group=group)
    return {
        "group": group,
        "role": role or ("curator" if user_is_curator(request.user) else "pipeline"),
        "is_admin": user_is_group_admin(user=request.user, group=group)
        or user_is_curator(request.user),
        "used_bytes": group_storage_used(group=group),
    }


@login_required
@require_http_methods(["GET", "POST"])
def group_list(request: HttpRequest) -> HttpResponse:
    form = GroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = group_create(user=signed_in_user(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Group {group.name} created; you are its admin.")
            return redirect("web:group", group_id=group.pk)
    groups = [group_summary(request, group) for group in group_list_for_user(user=request.user)]
    return render(request, "web/group_list.html", {"groups": groups, "form": form})


@login_required
@not_found_as_404
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_for(request, group_id)
    filter_form = FileFilterForm(request.GET)
    wanted = filter_form.filters()
    files = file_list_for_user(
        user=request.user,
        filters=FileFilters(
            group_id=group.pk,
            status=wanted["status"] or None,
            all_versions=wanted["all_versions"],
        ),
    )
    if wanted["q"]:
        files = files.filter(name__icontains=wanted["q"])
    context = group_summary(request, group) | {
        "filter_form": filter_form,
        "page": paginate(request, files),
    }
    return render(request, "web/group_detail.html", context)


@login_required
@not_found_as_404
@require_http_methods(["GET", "POST"])
def group_members_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_for(request, group_id)
    add_form = MemberAddForm(prefix="add")
    details_form = GroupDetailsForm(
        prefix="details",
        initial={"institution": group.institution, "contact_email": group.contact_email},
    )
    row_errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            add_form = MemberAddForm(request.POST, prefix="add")
            if add_form.is_valid():
                try:
                    added = group_member_add(
                        actor=request.user, group=group, **add_form.cleaned_data
                    )
                except ApplicationError as exc:
                    add_form.add_error("username", exc.message)
                else:
                    messages.success(request, _added_message(added))
                    return redirect("web:group-members", group_id=group.pk)
        elif action == "details":
            details_form = GroupDetailsForm(request.POST, prefix="details")
            if details_form.is_valid():
                try:
                    group_update(actor=request.user, group=group, **details_form.cleaned_data)
                except ApplicationError as exc:
                    details_form.add_error(None, exc.message)
                else:
                    messages.success(request, "Group details saved.")
                    return redirect("web:group-members", group_id=group.pk)
        elif action in {"role", "remove"}:
            username = request.POST.get("username", "")
            problem = _change_member(request, group, action)
            if problem is None:
                return redirect("web:group-members", group_id=group.pk)
            row_errors[username] = problem
    summary = group_summary(request, group)
    context = summary | {
        "members": group_members(group=group),
        "invitations": _pending_invitations(request, group) if summary["is_admin"] else [],
        "roles": Membership.Role.choices,
        "add_form": add_form,
        "details_form": details_form,
        "row_errors": row_errors,
    }
    status = 400 if row_errors or add_form.errors or details_form.errors else 200
    return render(request, "web/group_members.html", context, status=status)


def _added_message(added: Membership | GroupInvitation) -> str:
    """The same words for every username that is not a member, whether it names an account
    or not."""
    if isinstance(added, Membership):
        return f"{added.user.get_username()} is now {added.role}."
    return (
        f"Invitation sent to {added.username}. If an account of that name exists, they "
        "become a member once they accept it."
    )


def _pending_invitations(request: HttpRequest, group: Group) -> list[GroupInvitation]:
    return list(group_invitation_list_for_user(group=group, user=request.user)[:PAGE_SIZE])


@login_required
@not_found_as_404
@require_POST
def group_invitation_revoke_view(
    request: HttpRequest, group_id: int, invitation_id: uuid.UUID
) -> HttpResponse:
    group = group_for(request, group_id)
    try:
        invitation = group_invitation_revoke(
            actor=request.user, group=group, invitation_id=invitation_id
        )
    except ApplicationError as exc:
        if isinstance(exc, NotFoundError):
            raise  # 404, as for a missing page
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation of {invitation.username} revoked.")
    return redirect("web:group-members", group_id=group.pk)


def _change_member(request: HttpRequest, group: Group, action: str) -> str | None:
    """Change a member's role or remove them; the problem to show on their row, if any."""
    form = MemberRoleForm(request.POST)
    username = request.POST.get("username", "")
    try:
        if action == "remove":
            group_member_remove(actor=request.user, group=group, username=username)
            messages.success(request, f"{username} removed from {group.name}.")
            return None
        if not form.is_valid():
            return "Choose a role."
        if not (
            user_is_group_admin(user=request.user, group=group) or user_is_curator(request.user)
        ):
            return "Only the group's admins may change roles."
        membership = next(
            (m for m in group_members(group=group) if m.user.get_username() == username), None
        )
        if membership is None:
            return f"{username} is not a member."
        group_membership_set(
            actor=request.user, group=group, user=membership.user, role=form.cleaned_data["role"]
        )
        messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
    except ApplicationError as exc:
        return exc.message
    return None
