"""Loculus's file API (its backend's FilesController), as Loculus's preprocessing pipeline and
website call it: query parameters, no body, and answers with exactly Loculus's keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from filesharing.services import file_download_url, file_request_uploads
from filesharing.services.multipart import (
    file_request_multipart_uploads,
    multipart_uploads_complete_by_etags,
)
from filesharing.services.request_uploads import FileSpec
from groups.models import Group
from groups.selectors import group_get_for_user
from interop.errors import hidden_or_missing
from interop.loculus.errors import PROBLEM_JSON, loculus_exception_handler
from submissions.selectors import entry_file_get_for_user


class LoculusView(APIView):
    # Problem details (RFC 9457), as Loculus's backend answers, plus our stable code.
    openapi_error_media_type = PROBLEM_JSON
    openapi_error_schema = {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string"},
        },
    }

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return loculus_exception_handler


class LoculusFileIdAndWriteUrlSerializer(serializers.Serializer):
    fileId = serializers.UUIDField()
    url = serializers.URLField()
    headers = serializers.DictField(child=serializers.CharField())


class LoculusFileIdAndMultipartWriteUrlSerializer(serializers.Serializer):
    fileId = serializers.UUIDField()
    urls = serializers.ListField(child=serializers.URLField())


class GroupFilesSerializer(serializers.Serializer):
    groupId = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    numberFiles = serializers.IntegerField(min_value=1, default=1)


class MultipartFilesSerializer(GroupFilesSerializer):
    numberParts = serializers.IntegerField(min_value=1, default=1)


def _group_and_counts(
    request: Request, serializer_class: type[serializers.Serializer]
) -> tuple[Group, dict[str, Any]]:
    """The query parameters, checked, and the group the caller uploads for."""
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    values = dict(params.validated_data)
    return group_get_for_user(group_id=values["groupId"], user=request.user), values


class RequestUploadView(LoculusView):
    """POST /files/request-upload?groupId=…&numberFiles=… → [{fileId, url, headers}]"""

    @extend_schema(
        operation_id="loculus_request_upload",
        request=None,
        parameters=[GroupFilesSerializer],
        responses={200: LoculusFileIdAndWriteUrlSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        group, values = _group_and_counts(request, GroupFilesSerializer)
        tickets = file_request_uploads(
            group=group,
            user=request.user,  # type: ignore[arg-type]
            specs=[FileSpec()] * values["numberFiles"],
            dedup=False,
        )
        return Response(
            [
                {"fileId": str(t.file.id), "url": t.upload.url, "headers": t.upload.headers}
                for t in tickets
                if t.upload is not None  # always, with dedup=False
            ]
        )


class RequestMultipartUploadView(LoculusView):
    """POST /files/request-multipart-upload?groupId&numberFiles&numberParts → [{fileId, urls}]"""

    @extend_schema(
        operation_id="loculus_request_multipart_upload",
        request=None,
        parameters=[MultipartFilesSerializer],
        responses={200: LoculusFileIdAndMultipartWriteUrlSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        group, values = _group_and_counts(request, MultipartFilesSerializer)
        started = file_request_multipart_uploads(
            group=group,
            user=request.user,  # type: ignore[arg-type]
            number_files=values["numberFiles"],
            number_parts=values["numberParts"],
        )
        return Response(
            [
                {"fileId": str(item.file.id), "urls": [url.url for url in item.part_urls]}
                for item in started
            ]
        )


class LoculusFileIdAndEtagsSerializer(serializers.Serializer):
    fileId = serializers.UUIDField()
    etags = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=True),
        max_length=10_000,
    )


class CompleteMultipartUploadView(LoculusView):
    """POST /files/complete-multipart-upload with [{fileId, etags}] → 200, no body."""

    @extend_schema(
        operation_id="loculus_complete_multipart_upload",
        request=LoculusFileIdAndEtagsSerializer(many=True),
        responses={200: None},
    )
    def post(self, request: Request) -> Response:
        body = LoculusFileIdAndEtagsSerializer(data=request.data, many=True, allow_empty=False)
        body.is_valid(raise_exception=True)
        multipart_uploads_complete_by_etags(
            actor=request.user,
            etags_by_file=[(str(item["fileId"]), item["etags"]) for item in body.validated_data],
        )
        return Response(status=status.HTTP_200_OK)


class FileGetView(LoculusView):
    """GET|HEAD /files/get/{accession}/{version}/{category}/{name} → 307 to the bytes."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="loculus_files_get",
        parameters=[OpenApiParameter("version", int, OpenApiParameter.PATH)],
        responses={307: None},
    )
    def get(
        self, request: Request, accession: str, version: int, category: str, name: str
    ) -> Response:
        try:
            attachment = entry_file_get_for_user(
                accession_version=f"{accession}.{version}",
                category=category,
                name=name,
                user=request.user,
            )
        except NotFoundError as error:
            raise hidden_or_missing(user=request.user, error=error, what="file") from None
        presigned = file_download_url(
            file=attachment.file,
            actor=request.user,
            method="HEAD" if request.method == "HEAD" else "GET",
        )
        return Response(
            status=status.HTTP_307_TEMPORARY_REDIRECT, headers={"Location": presigned.url}
        )
