"""Public released data: search, and a manifest (TSV of URLs, DRS URIs, sizes and SHA-256) to
fetch."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from interop.drs.ids import drs_uri
from submissions.models import SequenceEntry
from submissions.organisms import organisms
from submissions.selectors import current_pipeline_versions, entry_displayed_processed
from web.selectors import (
    FIELD_NAME,
    ManifestLine,
    ReleasedSearch,
    manifest_lines,
    released_entry_ids,
    released_search,
)
from web.submission_forms import choices
from web.views.common import paginate

SHOWN_COLUMNS = 5  # metadata columns in the results table
MANIFEST_MAX_ENTRIES = 100_000


class ReleasedSearchForm(forms.Form):
    organism = forms.ChoiceField(required=False)
    q = forms.CharField(required=False, max_length=200, label="Accession or text")
    field = forms.CharField(
        required=False,
        max_length=64,
        label="Metadata field",
        validators=[RegexValidator(FIELD_NAME, "A field name: letters, digits and single _.")],
        widget=forms.TextInput(attrs={"list": "metadata-fields", "autocomplete": "off"}),
    )
    value = forms.CharField(required=False, max_length=200, label="contains")
    all_versions = forms.BooleanField(required=False, label="Every released version")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices(
            self.fields["organism"],
            [("", "all organisms")] + [(o.name, o.display_name) for o in organisms().values()],
        )
        self.known_fields = sorted(
            {name for o in organisms().values() for name in o.metadata_schema.get("properties", {})}
        )

    def search(self) -> ReleasedSearch:
        if not self.is_valid():
            return ReleasedSearch()
        data = self.cleaned_data
        return ReleasedSearch(
            organism=organisms().get(data["organism"]) if data["organism"] else None,
            text=data["q"].strip(),
            field=data["field"],
            value=data["value"].strip(),
            all_versions=data["all_versions"],
        )


def released_list(request: HttpRequest) -> HttpResponse:
    form = ReleasedSearchForm(request.GET)
    search = form.search()
    page = paginate(request, released_search(search=search))
    current = current_pipeline_versions()
    rows = [_row(entry, current) for entry in page.object_list]
    # The public sees processed metadata: the columns are the fields these entries have.
    seen = list(dict.fromkeys(name for row in rows for name in row["metadata"]))
    first = [search.field] if search.field in seen else []
    columns = (first + [name for name in seen if name != search.field])[:SHOWN_COLUMNS]
    for row in rows:
        row["values"] = [row["metadata"].get(column, "") for column in columns]
    context = {"form": form, "page": page, "rows": rows, "columns": columns}
    return render(request, "web/released_list.html", context)


def _row(entry: SequenceEntry, current: dict[str, int]) -> dict[str, Any]:
    processed = entry_displayed_processed(
        entry=entry, current=current.get(entry.organism, 1), public_only=True
    )
    files = [
        a
        for a in entry.attachment_rows()
        if processed is not None and a.processed_data_id == processed.pk
    ]
    return {
        "entry": entry,
        "metadata": processed.metadata if processed else {},
        "files": len(files),
        "bytes": sum(a.file.size or 0 for a in files),
    }


def manifest(request: HttpRequest) -> StreamingHttpResponse:
    """The selected entry versions (?entry=ACC.VER, repeated), or every result of the search
    (?all=1 with the search's parameters)."""
    if request.GET.get("all"):
        entries = released_search(search=ReleasedSearchForm(request.GET).search())
    else:
        wanted = request.GET.getlist("entry")
        entries = released_search(search=ReleasedSearch(all_versions=True)).filter(
            pk__in=released_entry_ids(accession_versions=wanted[:MANIFEST_MAX_ENTRIES])
        )
    lines = manifest_lines(
        entries=entries[:MANIFEST_MAX_ENTRIES], current=current_pipeline_versions()
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        _tsv(request, lines), content_type="text/tab-separated-values; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="seqvault-manifest-{stamp}.tsv"'
    return response


def _tsv(request: HttpRequest, lines: Iterator[ManifestLine]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(
        [
            "accessionVersion",
            "organism",
            "category",
            "fileName",
            "fileId",
            "size",
            "sha256",
            "md5",
            "url",
            "drsUri",
        ]
    )
    for line in lines:
        url = request.build_absolute_uri(reverse("file-download", kwargs={"file_id": line.file_id}))
        writer.writerow(
            [
                line.accession_version,
                line.organism,
                line.category,
                line.name,
                line.file_id,
                "" if line.size is None else line.size,
                line.sha256,
                line.md5,
                url,
                drs_uri(request, line.file_id),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
