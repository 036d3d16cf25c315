"""The three upload endpoints (ArtifactDB). The first two provision a project ID and/or version
and hand over to the third through an internal signed URL, valid for that project version,
that user and that one request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import resolve, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApplicationError
from filesharing import s3
from groups.models import Group
from projects.api.base import ProjectsView, api_relative
from projects.api.fields import FilenameField
from projects.credentials import PARAMETER, link_sign, promotion_create, session_action_sign
from projects.identifiers import b64_encode
from projects.models import ProjectVersion, UploadSession
from projects.selectors import group_get_by_reference_for_creator
from projects.services import (
    SessionRequest,
    SessionStarted,
    project_provision,
    session_start,
    upload_authorize,
    version_provision,
    version_provision_external,
)


class UploadInputSerializer(serializers.Serializer):
    filenames = serializers.ListField(child=FilenameField(), allow_empty=False)
    completed_by = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text='"in 10 minutes", "in 2 days" or a date (UTC unless zoned); 10 s to 5 days; '
        "default 1 day.",
    )
    expires_in = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Transient upload: removed at this moment (same forms; after completed_by).",
    )
    mode = serializers.ChoiceField(
        choices=UploadSession.Mode.choices, default=UploadSession.Mode.PRESIGNED
    )
    group = serializers.CharField(
        required=False,
        max_length=150,
        help_text="The owning group (ID or name) of a new project; by default the caller's "
        "only group.",
    )


class UploadOutputSerializer(serializers.Serializer):
    project_id = serializers.CharField()
    version = serializers.CharField()
    revision = serializers.CharField()
    presigned_urls = serializers.DictField(child=serializers.URLField())
    upload_headers = serializers.DictField(
        child=serializers.DictField(), help_text="Headers to send with a PUT bound to a size."
    )
    links = serializers.DictField(child=serializers.URLField(), help_text="PUT each to link.")
    file_ids = serializers.DictField(child=serializers.UUIDField())
    multipart = serializers.DictField(child=serializers.DictField(), required=False)
    sts = serializers.DictField(required=False)
    mode = serializers.CharField()
    complete_before = serializers.DateTimeField()
    completion_url = serializers.CharField()
    abort_url = serializers.CharField()
    purge_job_id = serializers.UUIDField()
    expires_in = serializers.DateTimeField(allow_null=True)
    expires_job_id = serializers.UUIDField(allow_null=True)


def _group(value: str | None, *, user: User, required: bool) -> Group | None:
    """The group named by ID or name among those the caller may create projects in: any other
    group answers like one that does not exist, revealing neither its existence nor its ID."""
    if value:
        return group_get_by_reference_for_creator(reference=value, user=user)
    if not required:
        return None
    mine = list(Group.objects.filter(memberships__user=user)[:2])
    if len(mine) != 1:
        raise ApplicationError(
            "group_required", "Name the group that owns the new project (group: ID or name)."
        )
    return mine[0]


def _request(values: dict[str, Any]) -> SessionRequest:
    return SessionRequest(
        files=values["filenames"],
        completed_by=values.get("completed_by") or None,
        expires_in=values.get("expires_in") or None,
        mode=values["mode"],
    )


def _upload(
    request: Request,
    *,
    accession: str,
    version: int,
    values: dict[str, Any],
    credential: str | None,
) -> Response:
    """The fully qualified upload, inside the caller's transaction."""
    user: User = request.user  # type: ignore[assignment]
    upload_authorize(user=user, accession=accession, version=version, credential=credential)
    project_version = version_provision_external(
        accession=accession,
        version=version,
        group=_group(values.get("group"), user=user, required=False),
        user=user,
    )
    started = session_start(version=project_version, user=user, request=_request(values))
    return Response(_answer(request, started))


def _promoted(request: Request, version: ProjectVersion, values: dict[str, Any]) -> Response:
    """Follow the internal signed URL made for the version just provisioned."""
    user: User = request.user  # type: ignore[assignment]
    accession = version.project.accession
    token = promotion_create(accession=accession, version=version.version, user=user)
    url = (
        reverse(
            "project-version-upload", kwargs={"project_id": accession, "version": version.version}
        )
        + "?"
        + urlencode({PARAMETER: token})
    )
    target = urlsplit(url)
    match = resolve(target.path)
    return _upload(
        request,
        accession=match.kwargs["project_id"],
        version=match.kwargs["version"],
        values=values,
        credential=parse_qs(target.query)[PARAMETER][0],
    )


def _answer(request: Request, started: SessionStarted) -> dict[str, Any]:
    session = started.session
    accession, version = session.project.accession, session.version_number
    where = {"project_id": accession, "version": version}
    completion = urlencode(
        {
            "revision": session.revision_label,
            "purge_job_id": str(session.purge_job_id),
            PARAMETER: session_action_sign(session_id=session.pk, action="complete"),
        }
    )
    abort = urlencode(
        {
            "purge_job_id": str(session.purge_job_id),
            PARAMETER: session_action_sign(session_id=session.pk, action="abort"),
        }
    )
    answer: dict[str, Any] = {
        "project_id": accession,
        "version": str(version),
        "revision": session.revision_label,
        "mode": session.mode,
        "presigned_urls": {path: upload.url for path, upload in started.uploads.items()},
        "upload_headers": {
            path: upload.headers for path, upload in started.uploads.items() if upload.headers
        },
        "links": {
            path: api_relative(
                "project-link",
                source=b64_encode(link.source_id),
                target=b64_encode(f"{accession}:{path}@{version}"),
            )
            + "?"
            + urlencode({PARAMETER: link_sign(session_id=session.pk, path=path)})
            for path, link in started.links.items()
        },
        "file_ids": {path: str(file.pk) for path, file in started.files.items()},
        "complete_before": session.deadline.isoformat(),
        "completion_url": f"{api_relative('project-version-complete', **where)}?{completion}",
        "abort_url": f"{api_relative('project-version-abort', **where)}?{abort}",
        "purge_job_id": str(session.purge_job_id),
        "expires_in": session.expires_at.isoformat() if session.expires_at else None,
        "expires_job_id": str(session.expires_job_id) if session.expires_job_id else None,
    }
    if session.mode == UploadSession.Mode.MULTIPART:
        answer["multipart"] = {
            path: {
                "file_id": str(file.pk),
                "multipart_uploads_url": request.build_absolute_uri(
                    reverse("file-multipart-uploads", kwargs={"file_id": str(file.pk)})
                ),
            }
            for path, file in started.files.items()
        }
    if started.sts is not None:
        answer["sts"] = {
            "credentials": {
                "aws_access_key_id": started.sts.access_key_id,
                "aws_secret_access_key": started.sts.secret_access_key,
                "aws_session_token": started.sts.session_token,
            },
            "session_name": started.sts.session_name,
            "expiration": started.sts.expiration.isoformat(),
            "bucket": s3.bucket(),
            "prefix": session.staging_prefix,
            "endpoint_url": settings.S3_PRESIGN_ENDPOINT_URL or settings.S3_ENDPOINT_URL,
            "region": settings.S3_REGION,
        }
    return answer


class ProjectUploadView(ProjectsView):
    """POST /api/projects/upload: a new project and its version 1 (role creator: any member
    of the group)."""

    @extend_schema(
        operation_id="project_upload",
        request=UploadInputSerializer,
        responses=UploadOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = UploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        group = _group(data.validated_data.get("group"), user=user, required=True)
        assert group is not None
        with transaction.atomic():
            version = project_provision(group=group, user=user)
            return _promoted(request, version, data.validated_data)


class ProjectVersionUploadView(ProjectsView):
    """POST /api/projects/<id>/upload: the project's next version (those who may write it)."""

    @extend_schema(
        operation_id="project_next_version_upload",
        request=UploadInputSerializer,
        responses=UploadOutputSerializer,
    )
    def post(self, request: Request, project_id: str) -> Response:
        data = UploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            version = version_provision(accession=project_id, user=request.user)  # type: ignore[arg-type]
            return _promoted(request, version, data.validated_data)


class QualifiedUploadView(ProjectsView):
    """POST /api/projects/<id>/version/<v>/upload: role uploader chooses ID and version."""

    @extend_schema(
        operation_id="project_version_upload",
        request=UploadInputSerializer,
        responses=UploadOutputSerializer,
        parameters=[OpenApiParameter(PARAMETER, str, description="internal signed URL")],
    )
    def post(self, request: Request, project_id: str, version: int) -> Response:
        data = UploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            return _upload(
                request,
                accession=project_id,
                version=version,
                values=data.validated_data,
                credential=request.query_params.get(PARAMETER),
            )
