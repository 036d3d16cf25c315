from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import IdField
from core.api.pagination import Pagination
from core.api.representation import represent_many
from core.api.schema import PAGE_PARAMETERS, paginated
from filesharing.api.fields import FileSpecListField
from filesharing.api.serializers import FileOutputSerializer, PresignedRequestSerializer
from filesharing.models import File
from filesharing.selectors import (
    FileFilters,
    file_get_for_user,
    file_list_for_user,
    files_get_for_user,
)
from filesharing.services import (
    ConfirmOutcome,
    FileSpec,
    UploadTicket,
    file_confirm,
    file_download_url,
    file_request_uploads,
    file_soft_delete,
    files_confirm,
)
from groups.selectors import group_get_for_user


class RequestUploadsView(APIView):
    class InputSerializer(serializers.Serializer):
        groupId = IdField()
        numberFiles = serializers.IntegerField(min_value=1, required=False)
        files = FileSpecListField(required=False)
        dedup = serializers.BooleanField(
            required=False,
            default=True,
            help_text="Answer a verified file of the group with the same sha256 and size "
            "(`deduplicated: true`, no URL) instead of a new upload. Also `?dedup=false`.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("numberFiles" in attrs) == ("files" in attrs):
                raise serializers.ValidationError("Give either numberFiles or files, not both.")
            return attrs

    class TicketSerializer(PresignedRequestSerializer):
        fileId = serializers.UUIDField(source="file.id")
        name = serializers.CharField(source="file.name")
        version = serializers.IntegerField(source="file.version")
        deduplicated = serializers.BooleanField(required=False)

    @extend_schema(request=InputSerializer, responses={200: TicketSerializer(many=True)})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_get_for_user(group_id=data.validated_data["groupId"], user=request.user)
        tickets = file_request_uploads(
            group=group,
            user=request.user,  # type: ignore[arg-type]
            specs=self._specs(data.validated_data),
            dedup=data.validated_data["dedup"]
            and request.query_params.get("dedup", "").lower() not in {"false", "0", "no"},
        )
        # Built by hand rather than by TicketSerializer: this answer can hold 1,000 items.
        body = [self._ticket(ticket) for ticket in tickets]
        return Response(body)

    @staticmethod
    def _ticket(ticket: UploadTicket) -> dict[str, Any]:
        item: dict[str, Any] = {
            "fileId": str(ticket.file.id),
            "name": ticket.file.name,
            "version": ticket.file.version,
        }
        if ticket.upload is None:
            return item | {
                "deduplicated": True,
                "url": None,
                "method": None,
                "headers": {},
                "expiresAt": None,
            }
        return item | {
            "url": ticket.upload.url,
            "method": ticket.upload.method,
            "headers": ticket.upload.headers,
            "expiresAt": ticket.upload.expires_at.isoformat(),
        }

    @staticmethod
    def _specs(validated: dict[str, Any]) -> list[FileSpec]:
        if "numberFiles" in validated:
            return [FileSpec()] * validated["numberFiles"]
        return [
            FileSpec(
                name=item["name"],
                size=item.get("size"),
                sha256=item.get("sha256"),
                md5=item.get("md5"),
                content_type=item.get("contentType", ""),
            )
            for item in validated["files"]
        ]


class FileListView(APIView):
    class FilterSerializer(serializers.Serializer):
        group = IdField(required=False)
        status = serializers.ChoiceField(choices=File.Status.choices, required=False)
        name = serializers.CharField(required=False)
        released = serializers.BooleanField(required=False, allow_null=True, default=None)
        orphaned = serializers.BooleanField(required=False, allow_null=True, default=None)
        all_versions = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(FileOutputSerializer, "File"),
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        filters = FileFilters(
            group_id=values.get("group"),
            status=values.get("status"),
            name=values.get("name"),
            released=values["released"],
            orphaned=values["orphaned"],
            all_versions=values["all_versions"],
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(
            file_list_for_user(user=request.user, filters=filters), request, view=self
        )
        return paginator.get_paginated_response(represent_many(FileOutputSerializer, page))


class FileDetailView(APIView):
    @extend_schema(responses=FileOutputSerializer)
    def get(self, request: Request, file_id: str) -> Response:
        file = file_get_for_user(file_id=file_id, user=request.user)
        return Response(FileOutputSerializer(file).data)

    @extend_schema(responses=FileOutputSerializer)
    def delete(self, request: Request, file_id: str) -> Response:
        file = file_get_for_user(file_id=file_id, user=request.user)
        return Response(FileOutputSerializer(file_soft_delete(file=file, actor=request.user)).data)


class FileConfirmView(APIView):
    @extend_schema(request=None, responses={200: FileOutputSerializer, 202: FileOutputSerializer})
    def post(self, request: Request, file_id: str) -> Response:
        file = file_confirm(
            file=file_get_for_user(file_id=file_id, user=request.user), actor=request.user
        )
        code = status.HTTP_200_OK if file.status == File.Status.VERIFIED else 202
        return Response(FileOutputSerializer(file).data, status=code)


class FilesConfirmView(APIView):
    class InputSerializer(serializers.Serializer):
        fileIds = serializers.ListField(child=serializers.UUIDField(), min_length=1)

        def validate_fileIds(self, value: list[Any]) -> list[str]:
            ids = [str(file_id) for file_id in value]
            if len(set(ids)) != len(ids):
                raise serializers.ValidationError("An ID is listed twice.")
            return ids

    class RefusalSerializer(serializers.Serializer):
        fileId = serializers.UUIDField(source="file_id")
        error = serializers.SerializerMethodField(help_text="{code, message, details}")

        def get_error(self, outcome: ConfirmOutcome) -> dict[str, Any]:
            assert outcome.error is not None
            error = outcome.error
            return {"code": error.code, "message": error.message, "details": error.details}

    class OutputSerializer(serializers.Serializer):
        confirmed = FileOutputSerializer(many=True)
        refused = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        operation_id="files_confirm_batch",
        request=InputSerializer,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        file_ids = data.validated_data["fileIds"]
        outcomes = files_confirm(
            file_ids=file_ids,
            found=files_get_for_user(file_ids=file_ids, user=request.user),
            actor=request.user,
        )
        answer = {
            "confirmed": [outcome.file for outcome in outcomes if outcome.error is None],
            "refused": self.RefusalSerializer(
                [outcome for outcome in outcomes if outcome.error is not None], many=True
            ).data,
        }
        return Response(self.OutputSerializer(answer).data)


class FileDownloadView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("redirect", bool, default=True)],
        responses={307: None, 200: PresignedRequestSerializer},
    )
    def get(self, request: Request, file_id: str) -> Response:
        file = file_get_for_user(file_id=file_id, user=request.user)
        presigned = file_download_url(file=file, actor=request.user)
        if request.query_params.get("redirect", "true").lower() in {"false", "0", "no"}:
            return Response({"url": presigned.url, "expiresAt": presigned.expires_at.isoformat()})
        return Response(
            status=status.HTTP_307_TEMPORARY_REDIRECT, headers={"Location": presigned.url}
        )
