"""The submission and revision forms: the same parsing and services as /api/submit and
/api/revise, with refusals shown against the metadata lines and attachment rows they name."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, NotFoundError
from filesharing.models import File
from filesharing.selectors import FileFilters, file_get_for_user, file_list_for_user
from groups.models import Group
from submissions.errors import refusal
from submissions.models import EntryFile, SequenceEntry
from submissions.organisms import organism_get, organisms
from submissions.parsing import FILES_PREFIX, FileCitation, SubmittedRow, parse_submission
from submissions.selectors import entry_get_for_user
from submissions.services import entries_revise, entries_submit
from web.row_errors import place_errors
from web.submission_forms import (
    AttachmentForm,
    BaseAttachmentFormSet,
    SubmissionForm,
    attachment_formset,
)
from web.views.common import group_for, not_found_as_404, signed_in_user
from web.views.groups import group_summary
from web.views.uploads import uploader_config

BLANK_ROWS = 3
CHOOSABLE_FILES = 1000


@login_required
@not_found_as_404
@require_http_methods(["GET", "POST"])
def submit_page(request: HttpRequest, group_id: int) -> HttpResponse:
    return _submission_page(request, group_for(request, group_id), revision=False)


@login_required
@not_found_as_404
@require_http_methods(["GET", "POST"])
def revise_page(request: HttpRequest, group_id: int) -> HttpResponse:
    return _submission_page(request, group_for(request, group_id), revision=True)


def _choosable_files(request: HttpRequest, group: Group, wanted: list[str]) -> list[File]:
    """The group's verified files (newest version of each name), and any version asked for."""
    files = list(
        file_list_for_user(
            user=request.user, filters=FileFilters(group_id=group.pk, status="verified")
        )[:CHOOSABLE_FILES]
    )
    known = {str(file.pk) for file in files}
    for file_id in wanted:
        if file_id in known:
            continue
        try:
            file = file_get_for_user(file_id=file_id, user=request.user)
        except NotFoundError:
            continue
        if file.group_id == group.pk and file.status == File.Status.VERIFIED:
            files.append(file)
            known.add(file_id)
    return files


def _categories() -> list[str]:
    names = {c.name for o in organisms().values() for c in o.input_file_categories}
    return sorted(names)


def _submission_page(request: HttpRequest, group: Group, *, revision: bool) -> HttpResponse:
    key_column = "accession" if revision else "submissionId"
    posted = request.method == "POST"
    if posted:
        wanted = [
            value
            for key in request.POST
            if key.startswith("att-") and key.endswith("-file")
            for value in request.POST.getlist(key)
        ]
    else:
        wanted = request.GET.getlist("file")
    choosable = _choosable_files(request, group, wanted)
    categories = _categories()
    placed = None
    choose_again: list[str] = []
    if posted:
        form = SubmissionForm(request.POST, request.FILES, revision=revision)
        formset = attachment_formset(0)(
            request.POST, prefix="att", categories=categories, files=choosable
        )
        if form.is_valid() and formset.is_valid():
            try:
                entries = _send(request, group, form, formset, revision=revision)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                placed = place_errors(
                    exc,
                    text=_text(form),
                    key_column=key_column,
                    attachment_keys=[f.attachment_key() for f in formset.forms],
                )
                for index, attachment in enumerate(formset.forms):
                    attachment.placed_errors = placed.attachments.get(index, [])
            else:
                listed = ", ".join(entry.accession_version for entry in entries[:20])
                more = f" and {len(entries) - 20} more" if len(entries) > 20 else ""
                verb = "Revised" if revision else "Submitted"
                messages.success(request, f"{verb} {len(entries)} entries: {listed}{more}.")
                return redirect("web:entries", group_id=group.pk)
        if form.is_bound and hasattr(form, "cleaned_data"):
            choose_again = form.carry_over()
    else:
        form = SubmissionForm(revision=revision, initial=_prefill(request, revision=revision))
        initial = [
            {"file": file_id} for file_id in wanted if file_id in {str(f.pk) for f in choosable}
        ]
        formset = attachment_formset(BLANK_ROWS)(
            prefix="att", initial=initial, categories=categories, files=choosable
        )
    context = group_summary(request, group) | {
        "form": form,
        "formset": formset,
        "placed": placed,
        "choose_again": choose_again,
        "revision": revision,
        "key_column": key_column,
        "organisms": list(organisms().values()),
        "uploader": uploader_config(request, group.pk),
    }
    status = 200 if not posted else 422
    return render(request, "web/submit.html", context, status=status)


def _text(form: SubmissionForm) -> str:
    raw: bytes = form.cleaned_data.get("metadata_bytes") or b""
    return raw.decode("utf-8", errors="replace") if raw[:2] != b"\x1f\x8b" else ""


def _send(
    request: HttpRequest,
    group: Group,
    form: SubmissionForm,
    formset: BaseAttachmentFormSet,
    *,
    revision: bool,
) -> list[SequenceEntry]:
    organism = organism_get(form.cleaned_data["organism"])
    rows = parse_submission(
        organism=organism,
        metadata_tsv=form.cleaned_data["metadata_bytes"],
        sequence_fasta=form.cleaned_data["sequence_bytes"],
        revision=revision,
    )
    _cite_attachment_rows(rows, [f for f in formset.forms if isinstance(f, AttachmentForm)])
    user = signed_in_user(request)
    if revision:
        return entries_revise(user=user, organism=organism, rows=rows)
    return entries_submit(user=user, group=group, organism=organism, rows=rows)


def _cite_attachment_rows(rows: list[SubmittedRow], forms: list[AttachmentForm]) -> None:
    """The form's rows become citations of the metadata rows they name (by submissionId, or by
    accession when revising), as `files.<category>` cells would."""
    by_key: dict[str, SubmittedRow] = {}
    for row in rows:
        by_key[row.submission_id] = row
        if row.accession:
            by_key[row.accession] = row
    unknown: list[str] = []
    for form in forms:
        cited = form.citation()
        if cited is None:
            continue
        key, category, name, file_id = cited
        cited_row = by_key.get(key)
        if cited_row is None:
            unknown.append(key)
            continue
        cited_row.files.append(FileCitation(category=category, name=name, file_id=file_id))
    if unknown:
        raise refusal(
            "attachment_unknown_entry",
            "Files are attached to entries that no metadata line has",
            list(dict.fromkeys(unknown)),
        )


def _prefill(request: HttpRequest, *, revision: bool) -> dict[str, Any]:
    """A revision starts from the entry it revises (?entry=ACC.VER): its metadata and files."""
    wanted = request.GET.get("entry", "")
    if not revision or not wanted:
        return {}
    try:
        entry = entry_get_for_user(accession_version=wanted, user=request.user)
    except NotFoundError:
        return {}
    inputs = [a for a in entry.attachment_rows() if a.kind == EntryFile.Kind.INPUT]
    columns = sorted(entry.metadata)
    categories = sorted({a.category for a in inputs})
    header = ["accession", "submissionId", *columns, *(FILES_PREFIX + c for c in categories)]
    cells = [
        entry.accession,
        entry.submission_id,
        *(str(entry.metadata[c]) for c in columns),
        *(" ".join(f"{a.name}:{a.file_id}" for a in inputs if a.category == c) for c in categories),
    ]
    return {
        "organism": entry.organism,
        "metadata_text": "\t".join(header) + "\n" + "\t".join(cells) + "\n",
    }
