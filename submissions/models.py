"""Sequence entries, their versions, the files attached to them and what the pipeline made of
them (Loculus's submission model, with files)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.query import ModelIterable

from filesharing.models import File, object_key
from groups.models import Group


class Accession(models.Model):
    """Mints accession numbers: one row per sequence entry, whatever its number of versions."""

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return accession_code(self.pk)


# Versions (entry and pipeline) are PositiveIntegerFields: PostgreSQL integers.
MAX_VERSION = 2**31 - 1


def accession_code(number: int) -> str:
    return f"{settings.ACCESSION_PREFIX}{number:06d}"


class AttachedFile(NamedTuple):
    """What an entry shows of a file it cites (the file's own row holds more). Tuples: a page
    of entries makes some 1,400 of these and `Attachment`s, four times faster than frozen
    dataclasses."""

    id: uuid.UUID
    size: int | None
    sha256: str
    md5: str
    status: str
    released_at: datetime | None
    deleted_at: datetime | None
    s3_version_id: str

    @property
    def key(self) -> str:
        return object_key(self.id)


class Attachment(NamedTuple):
    """An `EntryFile` read as a plain row, with what the entry shows of its file."""

    id: int
    entry_id: int
    kind: str
    category: str
    name: str
    file_id: uuid.UUID
    processed_data_id: int | None
    file: AttachedFile


_ATTACHMENT_COLUMNS = ("id", "entry_id", "kind", "category", "name", "file_id")
_ATTACHED_FILE_COLUMNS = (
    "processed_data_id",
    "file__size",
    "file__sha256",
    "file__md5",
    "file__status",
    "file__released_at",
    "file__deleted_at",
    "file__s3_version_id",
)


def attachments_by_entry(entry_ids: Iterable[int]) -> dict[int, list[Attachment]]:
    """The attachments of these entries in one query of plain rows, each entry's ordered by
    kind, category and name. A page of entries cites hundreds of files: two model instances
    for each (the attachment and its file) would cost more than the rest of the page."""
    found: dict[int, list[Attachment]] = {}
    rows = (
        EntryFile.objects.filter(entry_id__in=list(entry_ids))
        .order_by("entry_id", "kind", "category", "name")
        .values_list(*_ATTACHMENT_COLUMNS, *_ATTACHED_FILE_COLUMNS)
    )
    for pk, entry_id, kind, category, name, file_id, processed_data_id, *shown in rows:
        attached = AttachedFile(file_id, *shown)
        found.setdefault(entry_id, []).append(
            Attachment(pk, entry_id, kind, category, name, file_id, processed_data_id, attached)
        )
    return found


def _attach(entries: list[SequenceEntry]) -> None:
    found = attachments_by_entry(entry.pk for entry in entries)
    for entry in entries:
        entry._attachments = found.get(entry.pk, [])


class EntryQuerySet(models.QuerySet["SequenceEntry"]):
    """Entries that can be read with their attachments (`with_attachments`): one query of
    plain rows for all the entries read, by list, `get`, `iterator` chunk by chunk."""

    _with_attachments = False

    def with_attachments(self) -> EntryQuerySet:
        clone = self.all()
        clone._with_attachments = True
        return clone

    def _clone(self) -> EntryQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone._with_attachments = self._with_attachments
        return clone

    def _attaches(self) -> bool:
        return self._with_attachments and issubclass(self._iterable_class, ModelIterable)

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._attaches() and self._result_cache:
            _attach(self._result_cache)

    def _iterator(self, use_chunked_fetch: bool, chunk_size: int | None) -> Iterator[Any]:
        rows = super()._iterator(use_chunked_fetch, chunk_size)  # type: ignore[misc]
        if not self._attaches():
            yield from rows
            return
        while batch := list(islice(rows, chunk_size or 2000)):
            _attach(batch)
            yield from batch


class SequenceEntry(models.Model):
    """One version of a sequence entry (`ACC.VER`), as submitted or revised by its group."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED"
        IN_PROCESSING = "IN_PROCESSING"
        PROCESSED = "PROCESSED"
        APPROVED_FOR_RELEASE = "APPROVED_FOR_RELEASE"

    accession = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    organism = models.CharField(max_length=64)
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="entries")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submission_id = models.CharField(max_length=255)
    submitted_at = models.DateTimeField(auto_now_add=True)
    metadata = models.JSONField(default=dict, blank=True)
    sequences = models.JSONField(default=dict, blank=True)
    # Relative to the organism's current pipeline version; released entries stay released.
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    is_revocation = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EntryQuerySet.as_manager()
    _attachments: list[Attachment] | None = None

    class Meta:
        verbose_name_plural = "sequence entries"
        ordering = ["accession", "version"]
        indexes = [
            models.Index(fields=["organism", "status"]),
            models.Index(fields=["group", "status"]),
            models.Index(fields=["released_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["accession", "version"], name="entry_accession_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="entry_version_positive"),
            models.CheckConstraint(
                condition=Q(status="APPROVED_FOR_RELEASE", released_at__isnull=False)
                | (~Q(status="APPROVED_FOR_RELEASE") & Q(released_at__isnull=True)),
                name="entry_released_iff_approved",
            ),
        ]

    def __str__(self) -> str:
        return self.accession_version

    @property
    def accession_version(self) -> str:
        return f"{self.accession}.{self.version}"

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._attachments = None  # as Django forgets what it prefetched

    def attachment_rows(self) -> list[Attachment]:
        """Its attachments as plain rows: those read with it (`with_attachments`), else read
        now, once."""
        if self._attachments is None:
            self._attachments = attachments_by_entry([self.pk]).get(self.pk, [])
        return self._attachments


class ProcessedData(models.Model):
    """What one pipeline version made of one entry version: metadata, files, errors, warnings."""

    class Status(models.TextChoices):
        IN_PROCESSING = "IN_PROCESSING"
        PROCESSED = "PROCESSED"

    entry = models.ForeignKey(SequenceEntry, on_delete=models.CASCADE, related_name="processed")
    pipeline_version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROCESSING)
    metadata = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when its output files are due to be public: at approval for versions at or above the
    # current one, on arrival for an entry already released. The files follow (File.released_at).
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "processed data"
        ordering = ["entry", "pipeline_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "pipeline_version"], name="processed_data_per_pipeline_version"
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(status="PROCESSED"),
                name="processed_data_released_only_when_processed",
            ),
        ]
        indexes = [models.Index(fields=["pipeline_version", "status"])]

    def __str__(self) -> str:
        return f"{self.entry} by pipeline v{self.pipeline_version} ({self.status})"

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


class EntryFile(models.Model):
    """A file attached to an entry version under a category and name: submitted as input, or
    made by the pipeline as output of one processed-data row. The same file may be attached to
    many entry versions (revisions reuse files without copying)."""

    class Kind(models.TextChoices):
        INPUT = "input"
        OUTPUT = "output"

    entry = models.ForeignKey(SequenceEntry, on_delete=models.CASCADE, related_name="files")
    processed_data = models.ForeignKey(
        ProcessedData, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    category = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="attachments")

    class Meta:
        ordering = ["entry", "kind", "category", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="input", processed_data__isnull=True)
                | Q(kind="output", processed_data__isnull=False),
                name="entry_file_output_has_processed_data",
            ),
            models.UniqueConstraint(
                fields=["entry", "category", "name"],
                condition=Q(kind="input"),
                name="entry_file_input_name_unique",
            ),
            models.UniqueConstraint(
                fields=["processed_data", "category", "name"],
                condition=Q(kind="output"),
                name="entry_file_output_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} {self.kind} {self.category}/{self.name}"


class PipelineVersion(models.Model):
    """The current preprocessing pipeline version of an organism. Bumping never unpublishes."""

    organism = models.CharField(max_length=64, unique=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organism"]

    def __str__(self) -> str:
        return f"{self.organism}: v{self.version}"


class OrphanedFileReport(models.Model):
    """One run of the orphaned-files job: verified files attached to nothing past retention."""

    created_at = models.DateTimeField(auto_now_add=True)
    retention_days = models.PositiveIntegerField()
    file_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    removed_count = models.PositiveIntegerField(default=0)
    mailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Orphaned files {self.created_at:%Y-%m-%d %H:%M} ({self.file_count})"


class OrphanedFile(models.Model):
    """One row of a report, a snapshot of the file as it was found."""

    class Action(models.TextChoices):
        REPORTED = "reported"
        MARKED = "marked"  # removed on the next run if still unattached
        REMOVED = "removed"

    report = models.ForeignKey(OrphanedFileReport, on_delete=models.CASCADE, related_name="rows")
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=255, blank=True)
    version = models.PositiveIntegerField()
    size = models.BigIntegerField(null=True)
    sha256 = models.CharField(max_length=64, blank=True)
    uploader = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.REPORTED)

    class Meta:
        ordering = ["report", "group", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["report", "file"], name="orphaned_file_once_per_report")
        ]

    def __str__(self) -> str:
        return f"{self.file_id} in {self.report_id}"
