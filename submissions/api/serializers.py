"""What entries look like in answers. What a caller sees depends on who it is: the group sees
its submitted metadata and files; everyone else sees released processed data and public files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from filesharing import s3
from interop.drs.ids import drs_uri
from submissions.models import Attachment, EntryFile, ProcessedData, SequenceEntry
from submissions.selectors import entry_displayed_processed, entry_visible_files
from submissions.services import Claim

_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def download_url(request: Request, file_id: object) -> str:
    """Resolved once per request: a page of entries names hundreds of files."""
    template = getattr(request, "_download_url_template", None)
    if template is None:
        template = request.build_absolute_uri(
            reverse("file-download", kwargs={"file_id": _PLACEHOLDER})
        )
        request._download_url_template = template  # type: ignore[attr-defined]
    return str(template).replace(_PLACEHOLDER, str(file_id))


def public_url(attachment: Attachment) -> str | None:
    if attachment.file.released_at is None:
        return None
    return s3.public_url(
        key=attachment.file.key,
        base=settings.S3_PUBLIC_URL_BASE,
        version_id=attachment.file.s3_version_id,
    )


class EntryFileSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EntryFile.Kind.choices)
    category = serializers.CharField()
    name = serializers.CharField()
    fileId = serializers.UUIDField()
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    url = serializers.URLField(help_text="GET answers 307 to the bytes (audited).")
    released = serializers.BooleanField()


class ProcessedDataSerializer(serializers.Serializer):
    pipelineVersion = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ProcessedData.Status.choices)
    metadata = serializers.JSONField()
    errors = serializers.JSONField()  # type: ignore[assignment]
    warnings = serializers.JSONField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    releasedAt = serializers.DateTimeField(allow_null=True)


class EntryIdentitySerializer(serializers.Serializer):
    """What names an entry version, in every answer about one."""

    accession = serializers.CharField()
    version = serializers.IntegerField()
    accessionVersion = serializers.CharField()
    organism = serializers.CharField()
    groupId = serializers.IntegerField()
    groupName = serializers.CharField()
    submissionId = serializers.CharField()
    isRevocation = serializers.BooleanField()
    submittedAt = serializers.DateTimeField()


class EntrySerializer(EntryIdentitySerializer):
    """Built by `entry_representation`; the fields document its shape."""

    submitter = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=SequenceEntry.Status.choices)
    releasedAt = serializers.DateTimeField(allow_null=True)
    metadata = serializers.JSONField(
        allow_null=True, help_text="As submitted; shown to the group only."
    )
    processedData = ProcessedDataSerializer(allow_null=True)
    files = EntryFileSerializer(many=True)

    def to_representation(self, instance: SequenceEntry) -> dict[str, Any]:
        return entry_representation(
            instance,
            request=self.context["request"],
            current=self.context["current"],
            readable=self.context["readable"],
        )


def _file(request: Request, attachment: Attachment) -> dict[str, Any]:
    return {
        "kind": attachment.kind,
        "category": attachment.category,
        "name": attachment.name,
        "fileId": str(attachment.file_id),
        "size": attachment.file.size,
        "sha256": attachment.file.sha256,
        "md5": attachment.file.md5,
        "url": download_url(request, attachment.file_id),
        "released": attachment.file.released_at is not None,
    }


def _processed(row: ProcessedData | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "pipelineVersion": row.pipeline_version,
        "status": row.status,
        "metadata": row.metadata,
        "errors": row.errors,
        "warnings": row.warnings,
        "finishedAt": row.finished_at,
        "releasedAt": row.released_at,
    }


def entry_representation(
    entry: SequenceEntry,
    *,
    request: Request,
    current: dict[str, int],
    readable: frozenset[int] | None,
) -> dict[str, Any]:
    """`readable`: the caller's groups (None for every group), see readable_group_ids."""
    group_reader = readable is None or entry.group_id in readable
    processed = entry_displayed_processed(
        entry=entry, current=current.get(entry.organism, 1), public_only=not group_reader
    )
    files = entry_visible_files(entry=entry, processed=processed, group_reader=group_reader)
    return {
        "accession": entry.accession,
        "version": entry.version,
        "accessionVersion": entry.accession_version,
        "organism": entry.organism,
        "groupId": entry.group_id,
        "groupName": entry.group.name,
        "submissionId": entry.submission_id,
        "submitter": entry.submitter.get_username() if entry.submitter else None,
        "status": entry.status,
        "isRevocation": entry.is_revocation,
        "submittedAt": entry.submitted_at,
        "releasedAt": entry.released_at,
        "metadata": entry.metadata if group_reader else None,
        "processedData": _processed(processed),
        "files": [_file(request, attachment) for attachment in files],
    }


# --- NDJSON records -------------------------------------------------------------------------


class UnprocessedFileSerializer(serializers.Serializer):
    fileId = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.URLField(help_text="A presigned GET, valid for 30 minutes.")


class UnprocessedDataSerializer(serializers.Serializer):
    metadata = serializers.JSONField()
    unalignedNucleotideSequences = serializers.JSONField()
    files = serializers.DictField(child=UnprocessedFileSerializer(many=True))


class UnprocessedEntrySerializer(serializers.Serializer):
    """One line of /api/pipeline/unprocessed."""

    accession = serializers.CharField()
    version = serializers.IntegerField()
    organism = serializers.CharField()
    submissionId = serializers.CharField()
    submitter = serializers.CharField(allow_null=True)
    groupId = serializers.IntegerField()
    submittedAt = serializers.DateTimeField()
    data = UnprocessedDataSerializer()  # type: ignore[assignment]


def unprocessed_records(claim: Claim, entries: Iterable[SequenceEntry]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        files: dict[str, list[dict[str, str]]] = {}
        for attachment in entry.files.all():
            url = s3.presign_get(
                key=attachment.file.key,
                version_id=attachment.file.s3_version_id,
                lifetime=settings.PIPELINE_READ_URL_LIFETIME,
                now=claim.signed_at,
            ).url
            files.setdefault(attachment.category, []).append(
                {"fileId": str(attachment.file_id), "name": attachment.name, "url": url}
            )
        yield {
            "accession": entry.accession,
            "version": entry.version,
            "organism": entry.organism,
            "submissionId": entry.submission_id,
            "submitter": entry.submitter.get_username() if entry.submitter else None,
            "groupId": entry.group_id,
            "submittedAt": entry.submitted_at,
            "data": {
                "metadata": entry.metadata,
                "unalignedNucleotideSequences": entry.sequences,
                "files": files,
            },
        }


class ReleasedFileSerializer(serializers.Serializer):
    fileId = serializers.UUIDField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.URLField(help_text="The API's download URL: 307 to the public object.")
    publicUrl = serializers.URLField(
        allow_null=True, help_text="The public object; null until its publication completed."
    )
    drsUri = serializers.CharField(help_text="drs://<host>/<file ID>, for GA4GH DRS clients.")


class ReleasedEntrySerializer(EntryIdentitySerializer):
    """One line of /api/released-data."""

    releasedAt = serializers.DateTimeField()
    versionStatus = serializers.ChoiceField(choices=["LATEST_VERSION", "REVISED", "REVOKED"])
    pipelineVersion = serializers.IntegerField(allow_null=True)
    metadata = serializers.JSONField()
    files = serializers.DictField(child=ReleasedFileSerializer(many=True))


def released_records(
    entries: Iterable[SequenceEntry], *, request: Request, current: dict[str, int]
) -> Iterator[dict[str, Any]]:
    """Entries must come ordered by accession and version."""
    for _, versions in groupby(entries, key=lambda entry: entry.accession):
        ordered = list(versions)
        latest = ordered[-1]
        for entry in ordered:
            yield _released(entry, request, current, _version_status(entry, latest))


def _version_status(entry: SequenceEntry, latest: SequenceEntry) -> str:
    if entry.pk == latest.pk:
        return "LATEST_VERSION"
    return "REVOKED" if latest.is_revocation else "REVISED"


def _released(
    entry: SequenceEntry, request: Request, current: dict[str, int], version_status: str
) -> dict[str, Any]:
    processed = entry_displayed_processed(
        entry=entry, current=current.get(entry.organism, 1), public_only=True
    )
    files: dict[str, list[dict[str, Any]]] = {}
    for attachment in entry_visible_files(entry=entry, processed=processed, group_reader=False):
        if attachment.kind != EntryFile.Kind.OUTPUT:
            continue
        files.setdefault(attachment.category, []).append(
            {
                "fileId": str(attachment.file_id),
                "name": attachment.name,
                "size": attachment.file.size,
                "sha256": attachment.file.sha256,
                "md5": attachment.file.md5,
                "url": download_url(request, attachment.file_id),
                "publicUrl": public_url(attachment),
                "drsUri": drs_uri(request, str(attachment.file_id)),
            }
        )
    return {
        "accession": entry.accession,
        "version": entry.version,
        "accessionVersion": entry.accession_version,
        "organism": entry.organism,
        "groupId": entry.group_id,
        "groupName": entry.group.name,
        "submissionId": entry.submission_id,
        "submittedAt": entry.submitted_at,
        "releasedAt": entry.released_at,
        "isRevocation": entry.is_revocation,
        "versionStatus": version_status,
        "pipelineVersion": processed.pipeline_version if processed else None,
        "metadata": processed.metadata if processed else {},
        "files": files,
    }
