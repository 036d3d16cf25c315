from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from core.errors import ApplicationError
from projects.models import (
    IndexState,
    MetadataDocument,
    ObjectRemoval,
    Project,
    ProjectVersion,
    SessionFile,
    UploadSession,
)
from projects.services import index_build_request, session_purge_begin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(ReadOnlyInline):
    model = ProjectVersion
    fields = readonly_fields = ("version", "status", "revision", "completed_at", "expires_at")


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("accession", "group", "created_by", "created_at")
    search_fields = ("accession", "group__name")
    readonly_fields = ("accession", "group", "created_by", "created_at", "permissions")
    inlines = [VersionInline]


class DocumentInline(ReadOnlyInline):
    model = MetadataDocument
    fields = readonly_fields = ("path", "schema", "revision", "stored_at")


@admin.register(ProjectVersion)
class ProjectVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "revision", "completed_at", "expires_at")
    list_filter = ("status",)
    search_fields = ("project__accession",)
    readonly_fields = (
        "project",
        "version",
        "entry",
        "status",
        "revision",
        "permissions",
        "created_at",
        "completed_at",
        "expires_at",
        "expired_at",
    )
    inlines = [DocumentInline]


class SessionFileInline(ReadOnlyInline):
    model = SessionFile
    fields = readonly_fields = ("path", "kind", "file", "check_type", "link_source", "linked_at")


@admin.register(UploadSession)
class UploadSessionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "mode", "status", "deadline", "expires_at", "user")
    list_filter = ("status", "mode")
    search_fields = ("project__accession", "id")
    readonly_fields = (
        "id",
        "project",
        "version",
        "version_number",
        "revision",
        "user",
        "mode",
        "status",
        "deadline",
        "expires_at",
        "staging_prefix",
        "permissions",
        "purge_job",
        "expires_job",
        "completion_job",
        "created_at",
        "finished_at",
    )
    inlines = [SessionFileInline]
    actions = ["abort_uploads"]

    @admin.action(description="Abort the selected uploads (their files are purged)")
    def abort_uploads(self, request: HttpRequest, queryset: QuerySet[UploadSession]) -> None:
        ended = 0
        for session in queryset.filter(status__in=UploadSession.ACTIVE):
            try:
                ended += session_purge_begin(
                    session_id=session.pk,
                    reason="aborted by a curator",
                    actor=request.user,
                    status=UploadSession.Status.ABORTED,
                )
            except ApplicationError as exc:
                self.message_user(request, f"{session}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{ended} upload(s) aborted.")


@admin.register(ObjectRemoval)
class ObjectRemovalAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "job", "due_at", "removed_at", "removed_objects")
    list_filter = ("removed_at",)


@admin.register(IndexState)
class IndexStateAdmin(ReadOnlyAdmin):
    list_display = ("state", "job", "started_at", "finished_at", "documents", "reason")
    actions = ["rebuild"]

    @admin.action(description="Rebuild the search index")
    def rebuild(self, request: HttpRequest, queryset: QuerySet[IndexState]) -> None:
        try:
            job = index_build_request(user=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Re-indexing started (job {job.pk}).")
