"""Multipart uploads, with the GHGA upload controller's paths and states."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from filesharing import s3
from filesharing.api.serializers import PresignedRequestSerializer
from filesharing.models import MultipartUpload
from filesharing.selectors import (
    file_get_for_user,
    multipart_upload_get_for_user,
    multipart_uploads_of_file,
)
from filesharing.services.multipart import (
    PartRequest,
    PartUrl,
    multipart_upload_cancel,
    multipart_upload_complete,
    multipart_upload_create,
    multipart_upload_part_urls,
    multipart_upload_parts,
)

SHA256_PATTERN = r"^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$"
MD5_PATTERN = r"^(?:[0-9a-fA-F]{32}|[A-Za-z0-9+/]{22}==)$"


class MultipartUploadOutputSerializer(serializers.Serializer):
    uploadId = serializers.UUIDField(source="id")
    fileId = serializers.UUIDField(source="file_id")
    status = serializers.ChoiceField(choices=MultipartUpload.Status.choices)
    partSize = serializers.IntegerField(source="part_size")
    partCount = serializers.IntegerField(source="part_count")
    checksumAlgorithm = serializers.CharField(source="checksum_algorithm")
    failureReason = serializers.CharField(source="failure_reason")
    createdAt = serializers.DateTimeField(source="created_at")
    lastActivity = serializers.DateTimeField(source="last_activity")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)


class PartUrlSerializer(PresignedRequestSerializer):
    partNumber = serializers.IntegerField(source="number")
    size = serializers.IntegerField()


def _part_url(part: PartUrl) -> dict[str, Any]:
    return {
        "partNumber": part.number,
        "size": part.size,
        "url": part.request.url,
        "method": part.request.method,
        "headers": part.request.headers,
        "expiresAt": part.request.expires_at.isoformat(),
    }


class FileMultipartUploadsView(APIView):
    @extend_schema_serializer(component_name="MultipartUploadStart")
    class InputSerializer(serializers.Serializer):
        partSize = serializers.IntegerField(required=False, min_value=1)
        sha256 = serializers.RegexField(SHA256_PATTERN, required=False)
        checksumAlgorithm = serializers.ChoiceField(
            choices=["SHA256", "MD5", "NONE"],
            default="SHA256",
            help_text="SHA256: every part URL signs the part's digest and S3 checks it; where "
            "S3 checks no SHA-256 (see /api/health/) the upload is recorded as MD5 instead. "
            "MD5: part URLs sign the part's Content-MD5. NONE: parts carry no digest (clients "
            "that cannot hash before sending). Every multipart object is hashed whole before "
            "it is verified, except SHA256 uploads above MULTIPART_VERIFY_HASH_MAX_BYTES.",
        )

    @extend_schema_serializer(component_name="MultipartUploadFilter")
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=MultipartUpload.Status.choices, required=False)

    @extend_schema(request=InputSerializer, responses={201: MultipartUploadOutputSerializer})
    def post(self, request: Request, file_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = multipart_upload_create(
            file=file_get_for_user(file_id=file_id, user=request.user),
            actor=request.user,
            part_size=values.get("partSize"),
            sha256=values.get("sha256"),
            checksum_algorithm=""
            if values["checksumAlgorithm"] == "NONE"
            else values["checksumAlgorithm"],
        )
        return Response(MultipartUploadOutputSerializer(upload).data, status=201)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=MultipartUploadOutputSerializer(many=True),
        description="With `status`, the latest upload in that state or null (GHGA); "
        "without, every upload of the file.",
    )
    def get(self, request: Request, file_id: str) -> HttpResponse:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data.get("status")
        uploads = multipart_uploads_of_file(
            file=file_get_for_user(file_id=file_id, user=request.user),
            user=request.user,
            status=wanted,
        )
        if wanted:
            upload = uploads.first()
            if upload is None:
                # JSON null, as GHGA answers; DRF would send an empty body.
                return JsonResponse(None, safe=False)
            return Response(MultipartUploadOutputSerializer(upload).data)
        return Response(MultipartUploadOutputSerializer(uploads, many=True).data)


class MultipartUploadDetailView(APIView):
    @extend_schema_serializer(component_name="MultipartUploadUpdate")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["uploaded", "cancelled"])
        parts = serializers.DictField(child=serializers.CharField(max_length=128), required=False)
        sha256 = serializers.RegexField(SHA256_PATTERN, required=False)

        def validate_parts(self, parts: dict[str, str]) -> dict[int, str]:
            try:
                return {int(number): etag for number, etag in parts.items()}
            except ValueError:
                raise serializers.ValidationError("Keys are part numbers.") from None

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["status"] == "uploaded" and not attrs.get("parts"):
                raise serializers.ValidationError({"parts": "Give every part's ETag."})
            return attrs

    @extend_schema(responses=MultipartUploadOutputSerializer)
    def get(self, request: Request, upload_id: str) -> Response:
        upload = multipart_upload_get_for_user(upload_id=upload_id, user=request.user)
        return Response(MultipartUploadOutputSerializer(upload).data)

    @extend_schema(request=InputSerializer, responses={204: None})
    def patch(self, request: Request, upload_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = multipart_upload_get_for_user(upload_id=upload_id, user=request.user)
        if values["status"] == "cancelled":
            multipart_upload_cancel(upload=upload, actor=request.user)
        else:
            multipart_upload_complete(
                upload=upload,
                actor=request.user,
                parts=values["parts"],
                sha256=values.get("sha256"),
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MultipartPartUrlView(APIView):
    @extend_schema_serializer(component_name="MultipartPartUrlRequest")
    class InputSerializer(serializers.Serializer):
        sha256 = serializers.RegexField(SHA256_PATTERN, required=False)
        md5 = serializers.RegexField(MD5_PATTERN, required=False)

    @extend_schema(request=InputSerializer, responses=PartUrlSerializer)
    def post(self, request: Request, upload_id: str, part_no: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = multipart_upload_get_for_user(upload_id=upload_id, user=request.user)
        [part] = multipart_upload_part_urls(
            upload=upload,
            actor=request.user,
            parts=[
                PartRequest(
                    part_no, data.validated_data.get("sha256"), data.validated_data.get("md5")
                )
            ],
        )
        return Response(_part_url(part))


class MultipartPartsView(APIView):
    @extend_schema_serializer(component_name="MultipartPartRequest")
    class PartSerializer(serializers.Serializer):
        partNumber = serializers.IntegerField()
        sha256 = serializers.RegexField(SHA256_PATTERN, required=False)
        md5 = serializers.RegexField(MD5_PATTERN, required=False)

    @extend_schema_serializer(component_name="MultipartPartUrlsRequest")
    class InputSerializer(serializers.Serializer):
        parts = serializers.ListField(child=serializers.DictField(), min_length=1)

    @extend_schema_serializer(component_name="MultipartHeldPart")
    class HeldPartSerializer(serializers.Serializer):
        partNumber = serializers.IntegerField()
        size = serializers.IntegerField()
        etag = serializers.CharField()
        sha256 = serializers.CharField(allow_null=True)
        lastModified = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("upload_id", str, OpenApiParameter.PATH)],
        responses=HeldPartSerializer(many=True),
        description="The parts the object store holds (all pages), for a client that resumes.",
    )
    def get(self, request: Request, upload_id: str) -> Response:
        upload = multipart_upload_get_for_user(upload_id=upload_id, user=request.user)
        held = multipart_upload_parts(upload=upload, actor=request.user)
        return Response(
            {
                "uploadId": str(upload.pk),
                "partSize": upload.part_size,
                "partCount": upload.part_count,
                "checksumAlgorithm": upload.checksum_algorithm,
                "parts": [_held(part) for part in held],
            }
        )

    @extend_schema(request=InputSerializer, responses=PartUrlSerializer(many=True))
    def post(self, request: Request, upload_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parts = self.PartSerializer(data=data.validated_data["parts"], many=True)
        parts.is_valid(raise_exception=True)
        upload = multipart_upload_get_for_user(upload_id=upload_id, user=request.user)
        urls = multipart_upload_part_urls(
            upload=upload,
            actor=request.user,
            parts=[
                PartRequest(p["partNumber"], p.get("sha256"), p.get("md5"))
                for p in parts.validated_data
            ],
        )
        return Response({"parts": [_part_url(part) for part in urls]})


def _held(part: s3.PartFacts) -> dict[str, Any]:
    return {
        "partNumber": part.number,
        "size": part.size,
        "etag": part.etag,
        "sha256": part.sha256_hex,
        "lastModified": part.last_modified.isoformat() if part.last_modified else None,
    }
