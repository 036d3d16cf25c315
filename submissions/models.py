"""Sequence entries, their versions, the files attached to them and what the pipeline made of
them (Loculus's submission model, with files)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from filesharing.models import File
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
