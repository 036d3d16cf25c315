from __future__ import annotations

import csv
from typing import Any, cast

from django.conf import settings
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property

from core.api.pagination import bounded_count
from core.errors import ApplicationError
from filesharing import s3
from filesharing.models import File, MultipartUpload, StorageCapabilities
from filesharing.selectors import attached_q, orphaned_q
from filesharing.services import file_restore, file_reverify, file_soft_delete


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("orphaned", "Orphaned (verified, attached nowhere)"),
            ("unreleased", "Attached to entries, not yet public"),
            ("released", "Released"),
            ("deleted", "Deleted"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> QuerySet[File]:
        match self.value():
            case "orphaned":
                return queryset.filter(orphaned_q())
            case "unreleased":
                return queryset.filter(
                    attached_q(), released_at__isnull=True, deleted_at__isnull=True
                )
            case "released":
                return queryset.filter(released_at__isnull=False)
            case "deleted":
                return queryset.filter(deleted_at__isnull=False)
        return queryset


class BoundedCountPaginator(Paginator):
    """Counts at most API_COUNT_LIMIT rows of a filter: a page of a million files costs what
    its page costs. Past the limit the admin offers the pages up to it."""

    @cached_property
    def count(self) -> int:
        rows = cast(QuerySet[Any], self.object_list)
        return bounded_count(rows, limit=settings.API_COUNT_LIMIT)[0]


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_display = ["id", "name", "version", "group", "status", "size", "released_at", "deleted_at"]
    list_filter = [StateFilter, "status", "group"]
    search_fields = ["=id", "name", "=sha256", "=md5"]
    ordering = ["-upload_requested_at"]
    actions = ["reverify", "soft_delete", "restore", "export_csv"]
    readonly_fields = [f.name for f in File._meta.fields] + ["s3_facts"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="What S3 holds now")
    def s3_facts(self, file: File) -> str:
        try:
            facts = s3.head(key=file.key, version_id=file.s3_version_id)
            if facts is None:
                return "no object"
            tags = s3.object_tags(key=file.key, version_id=facts.version_id)
        except ApplicationError as exc:
            return f"unavailable: {exc.message}"
        return (
            f"size {facts.size}, sha256 {facts.sha256_hex or '—'}, version {facts.version_id}, "
            f"tags {tags or '{}'}"
        )

    def _each(self, request: HttpRequest, queryset: QuerySet[File], action: Any) -> None:
        done = 0
        for file in queryset:
            try:
                action(file)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"File {file.id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} file(s) processed.", messages.SUCCESS)

    @admin.action(description="Re-verify against S3")
    def reverify(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        for file in queryset:
            outcome = file_reverify(file_id=file.pk, actor=request.user)
            self.message_user(request, f"File {file.id}: {outcome}")

    @admin.action(description="Soft delete (hide, keep bytes)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        self._each(request, queryset, lambda f: file_soft_delete(file=f, actor=request.user))

    @admin.action(description="Restore deleted files")
    def restore(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        self._each(request, queryset, lambda f: file_restore(file=f, actor=request.user))

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[File]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="files-{stamp}.csv"'
        columns = [
            "id",
            "group",
            "name",
            "version",
            "status",
            "size",
            "sha256",
            "md5",
            "upload_requested_at",
            "verified_at",
            "released_at",
            "deleted_at",
        ]
        writer = csv.writer(response)
        writer.writerow(columns)
        for file in queryset.select_related("group"):
            writer.writerow([getattr(file, column) for column in columns])
        return response


@admin.register(MultipartUpload)
class MultipartUploadAdmin(admin.ModelAdmin):
    list_display = ["id", "file", "status", "part_size", "part_count", "last_activity"]
    list_filter = ["status"]
    search_fields = ["=id", "=file__id", "=s3_upload_id"]
    readonly_fields = [f.name for f in MultipartUpload._meta.fields]
    actions = ["cancel", "verify"]

    @admin.action(description="Cancel (abort in S3, free the parts)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[MultipartUpload]) -> None:
        from filesharing.services.multipart import multipart_upload_cancel

        done = 0
        for upload in queryset.select_related("file", "file__group"):
            try:
                multipart_upload_cancel(
                    upload=upload, actor=request.user, reason="cancelled by a curator"
                )
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"Upload {upload.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} upload(s) cancelled.", messages.SUCCESS)

    @admin.action(description="Verify completed uploads now")
    def verify(self, request: HttpRequest, queryset: QuerySet[MultipartUpload]) -> None:
        from filesharing.services.multipart import multipart_upload_verify

        for upload in queryset.filter(status=MultipartUpload.Status.UPLOADED):
            outcome = multipart_upload_verify(upload_id=upload.pk)
            self.message_user(request, f"Upload {upload.pk}: {outcome.status}")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StorageCapabilities)
class StorageCapabilitiesAdmin(admin.ModelAdmin):
    """What `check_storage` / `setup_bucket` found; read-only (probe again to change it)."""

    list_display = ["endpoint", "bucket", "integrity_path", "honours_if_none_match", "probed_at"]
    readonly_fields = [f.name for f in StorageCapabilities._meta.fields] + ["integrity_path"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
