"""Projects and their versions (ArtifactDB): a project is an accession owned by a group, a
project version an entry version (submissions.SequenceEntry). Files arrive through upload
sessions that hold the project's lock until their deadline; completed versions carry
permissions and metadata documents, searchable through an index table."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from core.models import Job
from filesharing.models import File
from groups.models import Group
from submissions.models import SequenceEntry


class Project(models.Model):
    """An accession owned by a group. Upload sessions of a project start and settle with this
    row locked (select_for_update): it serialises them."""

    accession = models.CharField(max_length=32, unique=True)
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="projects")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the latest completion whose permissions have scope "project"; the default for the
    # versions completed after it without permissions of their own.
    permissions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["accession"]
        permissions = [
            (
                "upload_any_project",
                "Can upload to any project and version, choosing both (ArtifactDB role uploader)",
            ),
        ]

    def __str__(self) -> str:
        return self.accession


class ProjectVersion(models.Model):
    class Status(models.TextChoices):
        PROVISIONED = "provisioned"  # numbered, first upload in progress
        AVAILABLE = "available"  # at least one upload completed
        EXPIRED = "expired"  # transient, past expires_in: data and metadata removed

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    # Null once the version is gone (purged before completion, or expired).
    entry = models.OneToOneField(
        SequenceEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="project_version",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONED)
    revision = models.PositiveIntegerField(default=0)  # of what is available; 0 before
    permissions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="project_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="project_version_positive"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.project.accession}@{self.version}"


class UploadSession(models.Model):
    """One upload of files to a project version: the lock, the deadline (`completed_by`), the
    files to come and the jobs that settle it."""

    class Status(models.TextChoices):
        UPLOADING = "uploading"
        COMPLETING = "completing"  # the completion job runs
        COMPLETED = "completed"
        ABORTED = "aborted"
        PURGED = "purged"  # the deadline passed first

    class Mode(models.TextChoices):
        PRESIGNED = "s3-presigned-url"
        MULTIPART = "multipart"
        STS = "sts-credentials"

    ACTIVE = (Status.UPLOADING, Status.COMPLETING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="upload_sessions")
    version = models.ForeignKey(
        ProjectVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="upload_sessions",
    )
    version_number = models.PositiveIntegerField()
    revision = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(max_length=24, choices=Mode.choices, default=Mode.PRESIGNED)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADING)
    deadline = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    staging_prefix = models.CharField(max_length=255, blank=True)
    permissions = models.JSONField(default=dict, blank=True)  # as given at completion
    purge_job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="+")
    expires_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completion_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The lock: at most one session in progress per project.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["uploading", "completing"]),
                name="upload_session_one_active_per_project",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.project.accession}@{self.version_number} {self.status} [{self.id}]"

    @property
    def revision_label(self) -> str:
        return revision_label(self.revision)


def revision_label(revision: int) -> str:
    return f"NUM-{revision}"


class SessionFile(models.Model):
    """A file a session declared: an upload to come, or a link to a file that exists."""

    class Kind(models.TextChoices):
        UPLOAD = "upload"
        LINK = "link"

    session = models.ForeignKey(UploadSession, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The reserved file (upload) or the file linked to (link): the same row, never a copy.
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="+")
    check_type = models.CharField(max_length=8, blank=True)  # link, md5 or sha256 for links
    link_source = models.CharField(max_length=400, blank=True)  # the ID linked to
    linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "path"]
        constraints = [
            models.UniqueConstraint(fields=["session", "path"], name="session_file_path_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.kind})"


class MetadataDocument(models.Model):
    """One metadata file (*.json) of a completed version, as validated against its $schema."""

    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="documents")
    path = models.CharField(max_length=255)  # ArtifactDB's metapath
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="+")
    schema = models.CharField(max_length=255)
    document = models.JSONField()
    revision = models.PositiveIntegerField()
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="metadata_path_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.path}"


class SearchEntry(models.Model):
    """The search index: a document as served (with `_extra`), its words and its JSON."""

    document = models.OneToOneField(
        MetadataDocument, primary_key=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    body = models.JSONField()
    vector = SearchVectorField(null=True)
    indexed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "search entries"
        indexes = [
            GinIndex(fields=["vector"], name="search_entry_vector"),
            GinIndex(fields=["body"], name="search_entry_body", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return f"index of {self.document_id}"


class IndexState(models.Model):
    """The one row (pk 1) of the global re-indexing lock, ArtifactDB's `__all_projects__`."""

    class State(models.TextChoices):
        OK = "ok"
        REINDEXING = "re-indexing"
        FAILED = "failed"

    state = models.CharField(max_length=16, choices=State.choices, default=State.OK)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    documents = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"index {self.state}"


class ObjectRemoval(models.Model):
    """Bytes due to go once a grace period is over: the second phase of a purge or expiry."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prefix = models.CharField(max_length=255, blank=True)  # a staging prefix
    due_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_objects = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["removed_at", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(file__isnull=False) | ~Q(prefix=""), name="object_removal_has_target"
            )
        ]

    def __str__(self) -> str:
        return f"removal of {self.file_id or self.prefix} after {self.due_at:%Y-%m-%d %H:%M}"


class UploadPromotion(models.Model):
    """The one-time nonce of an internal signed upload URL (ArtifactDB's role promotion from
    `creator` to `uploader`, for one project version and one request)."""

    nonce = models.CharField(max_length=64, primary_key=True)
    accession = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"promotion to {self.accession}@{self.version}"
