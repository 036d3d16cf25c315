"""The submission and revision forms: a metadata table (a file, or pasted), optional FASTA, and
attachment rows that cite the group's verified files by ID."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict

from filesharing.models import File
from submissions.organisms import organisms
from web.row_errors import AttachmentKey

# A table or FASTA sent back into the form after a refusal, so that it can be corrected here;
# larger ones must be chosen again (pasted text counts against DATA_UPLOAD_MAX_MEMORY_SIZE).
CARRY_OVER_MAX_BYTES = 1024**2


def choices(field: forms.Field, values: list[tuple[str, str]]) -> None:
    cast(forms.ChoiceField, field).choices = values


def _read(upload: Any) -> bytes:
    return b"".join(upload.chunks()) if upload else b""


class SubmissionForm(forms.Form):
    organism = forms.ChoiceField()
    metadata_file = forms.FileField(
        required=False,
        label="Metadata table file (TSV)",
        help_text="Tab-separated, may be gzipped. Replaces the pasted table below.",
    )
    metadata_text = forms.CharField(
        required=False,
        label="Metadata table",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
    )
    sequence_file = forms.FileField(
        required=False,
        label="Sequences file (FASTA)",
        help_text="Optional; the IDs are the submissionIds. May be gzipped.",
    )
    sequence_text = forms.CharField(
        required=False,
        label="Sequences (FASTA)",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, revision: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revision = revision
        choices(
            self.fields["organism"],
            [(organism.name, organism.display_name) for organism in organisms().values()],
        )
        key = "accession" if revision else "submissionId"
        self.fields["metadata_text"].help_text = (
            f"Paste it from a spreadsheet: a header line with a {key} column and your metadata "
            "columns, then one line per entry. Files may be cited in files.<category> columns "
            "as space-separated name:fileId pairs, or in the rows below."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        limit = settings.SUBMISSION_MAX_FILE_BYTES
        for name in ("metadata_file", "sequence_file"):
            chosen = data.get(name)
            if chosen is not None and chosen.size > limit:
                # Not read at all: the same limit as the API's (docs/entries.md, "Limits").
                self.add_error(
                    name, f"The file is {chosen.size} bytes; at most {limit} are accepted."
                )
                data[name] = None
        metadata = _read(data.get("metadata_file")) or data.get("metadata_text", "").encode()
        if not metadata.strip():
            self.add_error("metadata_text", "Give the metadata table: choose a file or paste it.")
        sequences = _read(data.get("sequence_file")) or data.get("sequence_text", "").encode()
        data["metadata_bytes"] = metadata
        data["sequence_bytes"] = sequences if sequences.strip() else None
        return data

    def carry_over(self) -> list[str]:
        """Put chosen files' text into the text fields, for the page that shows the errors
        (a browser cannot refill a file input); answers the files to choose again (large or
        compressed ones)."""
        data = cast(QueryDict, self.data).copy()
        again = []
        for name, chosen, raw in (
            ("metadata_text", "metadata_file", self.cleaned_data.get("metadata_bytes")),
            ("sequence_text", "sequence_file", self.cleaned_data.get("sequence_bytes")),
        ):
            if not raw or not self.cleaned_data.get(chosen):
                continue
            if len(raw) <= CARRY_OVER_MAX_BYTES and raw[:2] != b"\x1f\x8b":
                data[name] = raw.decode("utf-8", errors="replace")
            else:
                again.append(str(self.fields[chosen].label))
        self.data = data
        return again


def file_label(file: File) -> str:
    size = f"{file.size:,} bytes" if file.size is not None else "size unknown"
    return f"{file.name or '(unnamed)'} v{file.version} · {size} · {file.pk}"


class AttachmentForm(forms.Form):
    placed_errors: list[str] = []  # refusals of the last attempt that name this row
    key = forms.CharField(max_length=255, required=False)
    category = forms.ChoiceField(required=False)
    file = forms.ChoiceField(required=False)
    name = forms.CharField(
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "the file's own name"}),
    )

    def __init__(self, *args: Any, categories: list[str], files: list[File], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.files_by_id = {str(file.pk): file for file in files}
        choices(self.fields["category"], [("", "—")] + [(c, c) for c in categories])
        choices(
            self.fields["file"],
            [("", "—")] + [(str(file.pk), file_label(file)) for file in files],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = [name for name in ("key", "category", "file") if data.get(name)]
        if given and len(given) < 3:
            for name in {"key", "category", "file"} - set(given):
                self.add_error(name, "Needed for this row.")
        return data

    def citation(self) -> tuple[str, str, str, str] | None:
        """(entry key, category, name, file ID), or None for a blank row."""
        if not self.is_valid() or not self.cleaned_data.get("file"):
            return None
        file_id = self.cleaned_data["file"]
        name = self.cleaned_data["name"] or self.files_by_id[file_id].name
        return self.cleaned_data["key"].strip(), self.cleaned_data["category"], name, file_id

    def attachment_key(self) -> AttachmentKey | None:
        cited = self.citation()
        if cited is None:
            return None
        key, category, name, file_id = cited
        return AttachmentKey(key=key, file_id=file_id, label=f"{category}/{name}")


class BaseAttachmentFormSet(BaseFormSet):
    def __init__(self, *args: Any, categories: list[str], files: list[File], **kwargs: Any):
        self.categories, self.choosable = categories, files
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"categories": self.categories, "files": self.choosable}


def attachment_formset(extra: int) -> type[BaseAttachmentFormSet]:
    return formset_factory(  # type: ignore[return-value]
        AttachmentForm, formset=BaseAttachmentFormSet, extra=extra, max_num=500
    )
