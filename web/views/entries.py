"""A group's entries, one entry's page, and approval."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from submissions.models import Attachment, EntryFile, SequenceEntry
from submissions.organisms import organisms
from submissions.selectors import (
    EntryFilters,
    current_pipeline_versions,
    entry_displayed_processed,
    entry_get_for_user,
    entry_list_for_user,
    entry_visible_files,
    entry_writable_queryset,
    user_can_read_entry_group,
)
from submissions.services import entries_approve
from web.views.common import group_for, not_found_as_404, paginate, signed_in_user
from web.views.groups import group_summary

STATUSES = [("", "any status")] + [
    (value, label.replace("_", " ").lower()) for value, label in SequenceEntry.Status.choices
]


@login_required
@not_found_as_404
def entry_list(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_for(request, group_id)
    status = request.GET.get("status", "")
    if status not in SequenceEntry.Status.values:
        status = ""
    latest_only = request.GET.get("all_versions") != "on"
    entries = entry_list_for_user(
        user=request.user,
        filters=EntryFilters(group_id=group.pk, status=status or None, latest_only=latest_only),
    ).order_by("-submitted_at", "accession", "-version")
    page = paginate(request, entries)
    current = current_pipeline_versions()
    rows = [_entry_row(entry, current) for entry in page.object_list]
    context = group_summary(request, group) | {
        "page": page,
        "rows": rows,
        "statuses": STATUSES,
        "status": status,
        "all_versions": not latest_only,
        "approvable": any(row["approvable"] for row in rows),
    }
    return render(request, "web/entry_list.html", context)


def _entry_row(entry: SequenceEntry, current: dict[str, int]) -> dict[str, Any]:
    processed = entry_displayed_processed(
        entry=entry, current=current.get(entry.organism, 1), public_only=False
    )
    errors = list(processed.errors) if processed else []
    return {
        "entry": entry,
        "processed": processed,
        "errors": errors,
        "warnings": list(processed.warnings) if processed else [],
        "files": len(entry.attachment_rows()),
        "approvable": entry.status == SequenceEntry.Status.PROCESSED and not errors,
    }


@not_found_as_404
def entry_detail(request: HttpRequest, accession_version: str) -> HttpResponse:
    entry = entry_get_for_user(accession_version=accession_version, user=request.user)
    reader = user_can_read_entry_group(user=request.user, entry=entry)
    processed = entry_displayed_processed(
        entry=entry,
        current=current_pipeline_versions().get(entry.organism, 1),
        public_only=not reader,
    )
    files = _once_each(entry_visible_files(entry=entry, processed=processed, group_reader=reader))
    writable = entry_writable_queryset(user=request.user).filter(pk=entry.pk).exists()
    versions = entry_list_for_user(
        user=request.user, filters=EntryFilters(accession=entry.accession)
    )
    organism = organisms().get(entry.organism)
    context = {
        "entry": entry,
        "organism": organism,
        "reader": reader,
        "processed": processed,
        "files": files,
        "versions": versions,
        "may_approve": writable
        and entry.status == SequenceEntry.Status.PROCESSED
        and processed is not None
        and not processed.errors,
        # The service refuses revisions while the latest version is still being processed.
        "may_revise": writable
        and entry.status
        in (SequenceEntry.Status.PROCESSED, SequenceEntry.Status.APPROVED_FOR_RELEASE),
        "metadata_rows": _metadata_rows(entry, processed, reader),
    }
    return render(request, "web/entry_detail.html", context)


def _once_each(files: list[Attachment]) -> list[Attachment]:
    """A submitted file the pipeline passed through is listed once, as its output."""
    outputs = {(a.category, a.name, a.file_id) for a in files if a.kind == EntryFile.Kind.OUTPUT}
    return [
        a
        for a in files
        if a.kind == EntryFile.Kind.OUTPUT or (a.category, a.name, a.file_id) not in outputs
    ]


def _metadata_rows(entry: SequenceEntry, processed: Any, reader: bool) -> list[dict[str, Any]]:
    """Field by field: what the group submitted (for the group) beside what the pipeline made."""
    submitted = entry.metadata if reader else {}
    made = processed.metadata if processed is not None else {}
    names = list(dict.fromkeys([*submitted, *made]))
    return [
        {"name": name, "submitted": submitted.get(name), "processed": made.get(name)}
        for name in names
    ]


@login_required
@not_found_as_404
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected entry versions, or every approvable entry of a group."""
    back = request.POST.get("next", "")
    group_id = request.POST.get("group", "")
    try:
        if request.POST.get("scope") == "all" and group_id.isdigit():
            group = group_for(request, int(group_id))
            entries = entries_approve(user=signed_in_user(request), group=group)
        else:
            entries = entries_approve(
                user=signed_in_user(request), accession_versions=request.POST.getlist("entry")
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if entries:
            listed = ", ".join(entry.accession_version for entry in entries[:20])
            messages.success(
                request,
                f"Approved {len(entries)} for release: {listed}. Their files become public.",
            )
        else:
            messages.info(request, "Nothing was ready to approve.")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect(reverse("web:groups"))
