from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from groups.models import Group

VERIFIED_LIVE = Q(status="verified", deleted_at__isnull=True)
UNATTACHED_VERIFIED = Q(
    status="verified", deleted_at__isnull=True, released_at__isnull=True, attachment_count=0
)


class File(models.Model):
    """A group-owned object in S3 at `files/<uuid>`; the user's name is never part of the key."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        UPLOADED = "uploaded"
        VERIFIED = "verified"
        FAILED = "failed"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: (group, name, version) below serves every lookup by group, and
    # each index costs every write of a row (a request-uploads call writes a thousand).
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="files", db_index=False)
    # No index either: nothing looks files up by uploader but a user's deletion, which is rare
    # and may scan; every new row and every superseded version would pay for one.
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    name = models.CharField(max_length=255, blank=True)
    version = models.PositiveIntegerField(default=1)
    content_type = models.CharField(max_length=255, blank=True)
    declared_size = models.BigIntegerField(null=True, blank=True)
    declared_sha256 = models.CharField(max_length=64, blank=True)
    declared_md5 = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    failure_reason = models.TextField(blank=True)
    # What S3 holds, recorded on verification.
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)  # indexed in Meta: equality only
    md5 = models.CharField(max_length=32, blank=True)
    etag = models.CharField(max_length=128, blank=True)
    s3_version_id = models.CharField(max_length=1024, blank=True)
    upload_requested_at = models.DateTimeField(auto_now_add=True)
    upload_deadline = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The newest live version of its (group, name), or a live unnamed file: what listings show
    # unless all versions are asked for. Kept by the services that add, delete or restore files
    # (filesharing.services.latest), so no listing probes for a newer version row by row.
    is_latest = models.BooleanField(default=False)
    # How many entry attachments cite the file, kept by a database trigger on the attachments
    # table (submissions migration 0002), whatever path adds or removes them: orphan reports
    # find unattached files through an index instead of an anti-join over every attachment.
    attachment_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-upload_requested_at", "name", "-version"]
        indexes = [
            models.Index(fields=["group", "name", "version"]),
            # Deduplication and links look up the digests of verified, live files, by equality:
            # the rows still uploading (every new row, every version a new one supersedes) are
            # left out, so writing them costs this index nothing.
            models.Index(
                fields=["sha256", "group"],
                condition=VERIFIED_LIVE,
                name="file_verified_sha256",
            ),
            models.Index(fields=["status", "upload_deadline"]),
            # Listings walk these in their order and stop at the page: flat in the table's size.
            models.Index(F("upload_requested_at").desc(), name="file_recent"),
            models.Index(
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=Q(is_latest=True),
                name="file_latest_recent",
            ),
            models.Index(
                "group",
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=Q(is_latest=True),
                name="file_latest_group_recent",
            ),
            models.Index(
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=Q(is_latest=True, released_at__isnull=False),
                name="file_latest_released_recent",
            ),
            models.Index(
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=Q(deleted_at__isnull=True),
                name="file_live_recent",
            ),
            models.Index(
                "group",
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=Q(deleted_at__isnull=True),
                name="file_live_group_recent",
            ),
            # Orphan candidates (verified, live, unreleased, attached nowhere): by age for the
            # report, in listing order for the admin and the API.
            models.Index(
                "verified_at",
                condition=UNATTACHED_VERIFIED,
                name="file_orphan_candidates",
            ),
            models.Index(
                F("upload_requested_at").desc(),
                "name",
                F("version").desc(),
                condition=UNATTACHED_VERIFIED,
                name="file_orphan_candidates_recent",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "name", "version"],
                condition=~Q(name=""),
                name="file_version_unique_per_group_name",
            ),
            models.CheckConstraint(
                condition=Q(size__isnull=True) | Q(size__gte=0), name="file_size_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(declared_size__isnull=True) | Q(declared_size__gte=0),
                name="file_declared_size_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(size__isnull=False),
                name="file_verified_has_size",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or '(unnamed)'} v{self.version} [{self.id}]"

    @property
    def key(self) -> str:
        return object_key(self.id)


def object_key(file_id: object) -> str:
    """The S3 key of a file's bytes."""
    return f"files/{file_id}"


class MultipartUpload(models.Model):
    """An S3 multipart upload of one file (the GHGA upload controller's states)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CANCELLED = "cancelled"
        FAILED = "failed"
        UPLOADED = "uploaded"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    ACTIVE_STATUSES = (Status.PENDING, Status.UPLOADED, Status.ACCEPTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="multipart_uploads")
    s3_upload_id = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    part_size = models.BigIntegerField()
    part_count = models.PositiveIntegerField()
    checksum_algorithm = models.CharField(max_length=16, default="SHA256")
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file"],
                condition=Q(status__in=["pending", "uploaded", "accepted"]),
                name="multipart_one_active_per_file",
            ),
        ]

    def __str__(self) -> str:
        return f"multipart {self.id} of {self.file_id} ({self.status})"


class StorageCapabilities(models.Model):
    """What an S3 endpoint and bucket were found to check (`manage.py check_storage`, and
    `setup_bucket`); the integrity path seqvault takes there follows from it."""

    class IntegrityPath(models.TextChoices):
        SHA256 = "sha256", "S3 checks SHA-256 of every PUT and part"
        MD5 = "md5", "S3 checks Content-MD5; seqvault hashes every object"

    endpoint = models.CharField(max_length=1024, blank=True)
    bucket = models.CharField(max_length=255)
    verifies_sha256 = models.BooleanField()
    verifies_part_sha256 = models.BooleanField()
    verifies_md5 = models.BooleanField()
    honours_if_none_match = models.BooleanField()
    enforces_bucket_policy = models.BooleanField()
    # A HEAD of a tagged object says how many tags it has (x-amz-tagging-count), so
    # verification reads an object's tags only when it has some. Unknown: always read them.
    reports_tag_count = models.BooleanField(default=False)
    probed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "storage capabilities"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "bucket"], name="storage_probe_per_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint or 'AWS'} {self.bucket}: {self.integrity_path}"

    @property
    def integrity_path(self) -> str:
        if self.verifies_sha256 and self.verifies_part_sha256:
            return self.IntegrityPath.SHA256
        return self.IntegrityPath.MD5


class StrayVersionSweep(models.Model):
    """How far the sweep of object versions that no file owns has come through a bucket
    (filesharing.services.stray_versions): each run lists a bounded slice from `next_key` on,
    and the next run goes on from there. `lease_until` keeps two runs from sweeping at once."""

    endpoint = models.CharField(max_length=1024, blank=True)
    bucket = models.CharField(max_length=255)
    next_key = models.CharField(max_length=1024, blank=True)  # "": from the bucket's start
    # Set only when one key's versions filled a whole run: go on within it, after this one.
    next_version = models.CharField(max_length=1024, blank=True)
    passes_completed = models.PositiveIntegerField(default=0)
    pass_started_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "bucket"], name="stray_sweep_per_bucket")
        ]

    def __str__(self) -> str:
        return f"sweep of {self.endpoint or 'AWS'} {self.bucket} from {self.next_key!r}"
