"""One file: its details, its versions, its uploads; check it now or delete it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from filesharing.models import File
from filesharing.selectors import (
    FileFilters,
    file_get_for_user,
    file_list_for_user,
    multipart_uploads_of_file,
)
from filesharing.services import file_confirm, file_soft_delete
from groups.permissions import user_can_read_group, user_is_curator, user_is_group_admin
from web.selectors import file_attachments_for_user
from web.views.common import not_found_as_404


@not_found_as_404
def file_detail(request: HttpRequest, file_id: str) -> HttpResponse:
    file = file_get_for_user(file_id=file_id, user=request.user)
    member = user_can_read_group(user=request.user, group=file.group)
    versions = (
        file_list_for_user(
            user=request.user,
            filters=FileFilters(group_id=file.group_id, name=file.name, all_versions=True),
        )
        if file.name
        else [file]
    )
    uploads = multipart_uploads_of_file(file=file, user=request.user) if member else []
    may_delete = member and (
        (request.user.is_authenticated and file.uploader_id == request.user.pk)
        or user_is_group_admin(user=request.user, group=file.group)
        or user_is_curator(request.user)
    )
    context = {
        "file": file,
        "attachments": file_attachments_for_user(file=file, user=request.user),
        "member": member,
        "versions": versions,
        "uploads": uploads,
        "may_delete": may_delete and file.released_at is None and file.deleted_at is None,
        "may_check": member
        and file.deleted_at is None
        and file.status in (File.Status.REQUESTED, File.Status.UPLOADED),
    }
    return render(request, "web/file_detail.html", context)


@login_required
@not_found_as_404
@require_POST
def file_check(request: HttpRequest, file_id: str) -> HttpResponse:
    file = file_get_for_user(file_id=file_id, user=request.user)
    try:
        file = file_confirm(file=file, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{file.name or file.pk} is {file.status}.")
    return redirect("web:file", file_id=file.pk)


@login_required
@not_found_as_404
@require_POST
def file_delete(request: HttpRequest, file_id: str) -> HttpResponse:
    file = file_get_for_user(file_id=file_id, user=request.user)
    try:
        file_soft_delete(file=file, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web:file", file_id=file.pk)
    messages.success(request, f"{file.name or file.pk} deleted; it no longer appears in lists.")
    return redirect("web:group", group_id=file.group_id)
