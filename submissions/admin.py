from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.errors import ApplicationError
from submissions.models import (
    EntryFile,
    OrphanedFile,
    OrphanedFileReport,
    PipelineVersion,
    ProcessedData,
    SequenceEntry,
)
from submissions.services import entries_approve, entries_revoke, orphaned_files_csv


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EntryFileInline(ReadOnlyInline):
    model = EntryFile
    fields = readonly_fields = ("kind", "category", "name", "file_link", "size", "released")

    @admin.display(description="file")
    def file_link(self, attachment: EntryFile) -> str:
        url = reverse("admin:filesharing_file_change", args=[attachment.file_id])
        return format_html('<a href="{}">{}</a>', url, attachment.file_id)

    @admin.display(description="size")
    def size(self, attachment: EntryFile) -> int | None:
        return attachment.file.size

    @admin.display(boolean=True, description="public")
    def released(self, attachment: EntryFile) -> bool:
        return attachment.file.released_at is not None


class ProcessedDataInline(ReadOnlyInline):
    model = ProcessedData
    fields = readonly_fields = (
        "pipeline_version",
        "status",
        "errors",
        "warnings",
        "finished_at",
        "released_at",
    )


@admin.register(SequenceEntry)
class SequenceEntryAdmin(admin.ModelAdmin):
    list_display = [
        "accession_version",
        "organism",
        "group",
        "status",
        "is_revocation",
        "submitted_at",
        "released_at",
    ]
    list_filter = ["status", "organism", "is_revocation", "group"]
    search_fields = ["=accession", "submission_id"]
    ordering = ["-submitted_at"]
    readonly_fields = [f.name for f in SequenceEntry._meta.fields]
    inlines = [EntryFileInline, ProcessedDataInline]
    actions = ["approve", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve for release")
    def approve(self, request: HttpRequest, queryset: QuerySet[SequenceEntry]) -> None:
        try:
            entries = entries_approve(
                user=request.user,  # type: ignore[arg-type]
                accession_versions=[entry.accession_version for entry in queryset],
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{len(entries)} entry version(s) released.", messages.SUCCESS)

    @admin.action(description="Revoke (a released revocation version; files stay public)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[SequenceEntry]) -> None:
        try:
            revocations = entries_revoke(
                user=request.user,  # type: ignore[arg-type]
                accessions=sorted({entry.accession for entry in queryset}),
                release=True,
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{len(revocations)} entry(ies) revoked.", messages.SUCCESS)


@admin.register(PipelineVersion)
class PipelineVersionAdmin(admin.ModelAdmin):
    """Bumped with `manage.py bump_pipeline_version`, or automatically."""

    list_display = ["organism", "version", "updated_at"]
    readonly_fields = ["organism", "version", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrphanedFileInline(ReadOnlyInline):
    model = OrphanedFile
    fields = readonly_fields = (
        "file",
        "group",
        "name",
        "version",
        "size",
        "sha256",
        "uploader",
        "verified_at",
        "action",
    )


@admin.register(OrphanedFileReport)
class OrphanedFileReportAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "file_count",
        "total_bytes",
        "removed_count",
        "retention_days",
        "csv_link",
    ]
    readonly_fields = [f.name for f in OrphanedFileReport._meta.fields]
    inlines = [OrphanedFileInline]
    actions = ["download_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.csv_view)
        return [
            path("<int:report_id>/csv/", view, name="submissions_orphanedfilereport_csv"),
            *super().get_urls(),
        ]

    @admin.display(description="CSV")
    def csv_link(self, report: OrphanedFileReport) -> str:
        url = reverse("admin:submissions_orphanedfilereport_csv", args=[report.pk])
        return format_html('<a href="{}">download</a>', url)

    def csv_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        report = get_object_or_404(OrphanedFileReport, pk=report_id)
        return self._csv(OrphanedFile.objects.filter(report=report), f"report-{report.pk}")

    @admin.action(description="Download as CSV")
    def download_csv(
        self, request: HttpRequest, queryset: QuerySet[OrphanedFileReport]
    ) -> HttpResponse:
        return self._csv(OrphanedFile.objects.filter(report__in=queryset), "reports")

    def _csv(self, rows: QuerySet[OrphanedFile], label: str) -> HttpResponse:
        ordered = rows.select_related("group").order_by("report", "group__name", "name", "version")
        response = HttpResponse(orphaned_files_csv(ordered), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="orphaned-files-{label}.csv"'
        return response
