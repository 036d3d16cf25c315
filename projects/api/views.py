"""Completion, abort, links, metadata, search and the index (ArtifactDB)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import NotFoundError
from projects.api.base import ProjectsView, api_relative
from projects.credentials import PARAMETER
from projects.documents import document_body
from projects.models import ProjectVersion
from projects.permissions import user_can_read_version
from projects.schemas import registered_schemas
from projects.selectors import project_get, version_documents, version_files, version_get_for_user
from projects.services import (
    index_build_request,
    link_create,
    metadata_search,
    session_complete_request,
    session_for_action,
    session_purge_begin,
)
from projects.services.search import index_state

_CREDENTIAL = OpenApiParameter(PARAMETER, str, description="the signed URL's credential")


class ResultsSerializer(serializers.Serializer):
    results = serializers.ListField(child=serializers.DictField())
    count = serializers.IntegerField()
    total = serializers.IntegerField()


class PageSerializer(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    # `from` is a Python keyword: declared below.

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(min_value=0, max_value=10**7, default=0)
        return fields


def _credential(request: Request) -> str | None:
    credential = request.query_params.get(PARAMETER)
    if not credential and not request.user.is_authenticated:
        raise NotAuthenticated()
    return credential


class PermissionsSerializer(serializers.Serializer):
    owners = serializers.JSONField(required=False, help_text="A user name or a list.")
    read_access = serializers.CharField(
        required=False, help_text="public, authenticated, group or owners"
    )
    write_access = serializers.CharField(required=False, help_text="group or owners")
    scope = serializers.CharField(required=False, help_text="project or version")


class CompletionAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField()
    job_url = serializers.CharField()
    job_id = serializers.UUIDField()


class UploadAbortedSerializer(serializers.Serializer):
    status = serializers.CharField()
    job_url = serializers.CharField()
    purge_job_id = serializers.UUIDField()


class CompleteView(ProjectsView):
    permission_classes = [AllowAny]  # the completion URL's credential is enough

    @extend_schema(
        request=PermissionsSerializer,
        responses={202: CompletionAcceptedSerializer},
        parameters=[
            OpenApiParameter("revision", str),
            OpenApiParameter("purge_job_id", str),
            _CREDENTIAL,
        ],
    )
    def put(self, request: Request, project_id: str, version: int) -> Response:
        body = PermissionsSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        session = session_for_action(
            accession=project_id,
            version=version,
            user=request.user,
            credential=_credential(request),
            action="complete",
        )
        job = session_complete_request(
            session=session,
            user=request.user,
            revision=request.query_params.get("revision"),
            purge_job_id=request.query_params.get("purge_job_id"),
            permissions=dict(body.validated_data),
        )
        url = api_relative("job-detail", job_id=str(job.pk))
        return Response(
            {"status": "accepted", "job_url": url, "job_id": str(job.pk)},
            status=status.HTTP_202_ACCEPTED,
        )


class AbortView(ProjectsView):
    permission_classes = [AllowAny]  # the abort URL's credential is enough

    @extend_schema(request=None, responses=UploadAbortedSerializer, parameters=[_CREDENTIAL])
    def put(self, request: Request, project_id: str, version: int) -> Response:
        session = session_for_action(
            accession=project_id,
            version=version,
            user=request.user,
            credential=_credential(request),
            action="abort",
        )
        session_purge_begin(
            session_id=session.pk,
            reason="aborted by the client",
            actor=request.user,
            status=session.Status.ABORTED,
        )
        job_id = str(session.purge_job_id)
        url = api_relative("job-detail", job_id=job_id)
        return Response({"status": "aborted", "job_url": url, "purge_job_id": job_id})


class MetadataView(ProjectsView):
    """A version's metadata documents with `_extra`; public without a token when the version's
    read_access is public."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[PageSerializer], responses=ResultsSerializer)
    def get(self, request: Request, project_id: str, version: int) -> Response:
        page = PageSerializer(data=request.query_params)
        page.is_valid(raise_exception=True)
        found = version_get_for_user(accession=project_id, version=version, user=request.user)
        documents = version_documents(version=found)
        total = documents.count()
        start, size = page.validated_data["from"], page.validated_data["size"]
        files = version_files(version=found)
        results = [
            document_body(
                document,
                version=found,
                files=files,
                indexed_at=getattr(getattr(document, "search_entry", None), "indexed_at", None),
            )
            for document in documents[start : start + size]
        ]
        return Response({"results": results, "count": len(results), "total": total})


class VersionsView(ProjectsView):
    """The versions of a project the caller may read."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: str) -> Response:
        project = project_get(accession=project_id)
        versions = [
            version
            for version in (
                project.versions.filter(status=ProjectVersion.Status.AVAILABLE).order_by("version")
                if project is not None
                else []
            )
            if user_can_read_version(user=request.user, version=version)
        ]
        if project is None or not versions:
            raise NotFoundError("project", project_id)
        return Response(
            {
                "project_id": project.accession,
                "versions": [
                    {
                        "version": str(version.version),
                        "revision": f"NUM-{version.revision}",
                        "completed_at": version.completed_at,
                        "expires_at": version.expires_at,
                        "permissions": version.permissions,
                    }
                    for version in versions
                ],
                "latest": str(versions[-1].version),
            }
        )


class SearchView(ProjectsView):
    """Search the metadata the caller may read: `field:value` terms (dotted paths) and words."""

    permission_classes = [AllowAny]

    class QuerySerializer(PageSerializer):
        q = serializers.CharField(max_length=1000, allow_blank=True, default="*")

    @extend_schema(parameters=[QuerySerializer], responses=ResultsSerializer)
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        results, total = metadata_search(
            user=request.user, q=values["q"] or "*", size=values["size"], offset=values["from"]
        )
        return Response({"results": results, "count": len(results), "total": total})


class LinkView(ProjectsView):
    """PUT /api/link/<source>/to/<target> (base64 ArtifactDB IDs): create a declared link."""

    permission_classes = [AllowAny]  # the link URL's credential is enough

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, parameters=[_CREDENTIAL])
    def put(self, request: Request, source: str, target: str) -> Response:
        link = link_create(
            source_b64=source,
            target_b64=target,
            credential=_credential(request),
            user=request.user,
        )
        return Response(
            {
                "status": "linked",
                "source": link.link_source,
                "target": f"{link.session.project.accession}:{link.path}@"
                f"{link.session.version_number}",
            }
        )


class IndexStatusSerializer(serializers.Serializer):
    state = serializers.CharField()
    job_id = serializers.UUIDField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    documents = serializers.IntegerField()
    reason = serializers.CharField()


def _status(state: Any) -> dict[str, Any]:
    return {
        "state": state.state,
        "job_id": str(state.job_id) if state.job_id else None,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "documents": state.documents,
        "reason": state.reason,
    }


class IndexBuildView(ProjectsView):
    """POST /api/index/build (staff): re-index all metadata; 423 while a re-indexing runs."""

    @extend_schema(request=None, responses={202: IndexStatusSerializer})
    def post(self, request: Request) -> Response:
        job = index_build_request(user=request.user)
        body = _status(index_state()) | {"job_url": api_relative("job-detail", job_id=str(job.pk))}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class IndexStatusView(ProjectsView):
    """`re-indexing` while a re-indexing runs, then `ok` or `failed`."""

    permission_classes = [AllowAny]

    @extend_schema(responses=IndexStatusSerializer)
    def get(self, request: Request) -> Response:
        return Response(_status(index_state()))


class SchemaListView(ProjectsView):
    """The JSON Schemas metadata files may name in `$schema`."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"schemas": sorted(registered_schemas())})


class SchemaDetailView(ProjectsView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, schema_id: str) -> Response:
        schema = registered_schemas().get(schema_id)
        if schema is None:
            raise NotFoundError("schema", schema_id)
        return Response(schema)
