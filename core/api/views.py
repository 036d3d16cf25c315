from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.health import health_report, storage_capabilities
from core.models import Job
from core.selectors import job_get
from core.services import job_cancel_for_user


class HealthView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        database = serializers.CharField()
        storage = serializers.CharField()
        broker = serializers.CharField()
        storageCapabilities = serializers.DictField(
            allow_null=True,
            help_text="What the object store checks (probed) and the integrity path taken: "
            "integrityPath sha256 or md5, verifiesSha256, verifiesPartSha256, verifiesMd5, "
            "honoursIfNoneMatch, enforcesBucketPolicy, reportsTagCount, probedAt.",
        )

    @extend_schema(responses={200: OutputSerializer, 503: OutputSerializer})
    def get(self, request: Request) -> Response:
        healthy, report = health_report()
        body: dict[str, object] = {"status": "ok" if healthy else "unavailable", **report}
        body["storageCapabilities"] = storage_capabilities() if report["storage"] == "ok" else None
        return Response(body, status=status.HTTP_200_OK if healthy else 503)


class JobDetailView(APIView):
    """Anyone with the id may poll a job; only its creator or a curator may cancel it."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request is not None and self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_authenticators(self) -> list[BaseAuthentication]:
        # Polling needs no credential, and a stale one must not make it fail.
        if self.request is not None and self.request.method == "GET":
            return []
        return super().get_authenticators()

    class OutputSerializer(serializers.Serializer):
        """ArtifactDB's job fields (Celery's: task_id, status, result, traceback, children,
        date_done) and ours. A failure is explained in `error`; `traceback` is always null."""

        id = serializers.UUIDField()
        task_id = serializers.UUIDField(source="id")
        kind = serializers.CharField()
        status = serializers.ChoiceField(choices=Job.Status.choices)
        result = serializers.JSONField()
        error = serializers.CharField()
        traceback = serializers.SerializerMethodField()
        children = serializers.SerializerMethodField()
        date_done = serializers.DateTimeField(source="finished_at", allow_null=True)
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_traceback(self, job: Job) -> None:
            return None

        def get_children(self, job: Job) -> list[str]:
            return []

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, job_id: str) -> Response:
        return Response(self.OutputSerializer(job_get(job_id=job_id)).data)

    @extend_schema(responses={200: OutputSerializer})
    def delete(self, request: Request, job_id: str) -> Response:
        job = job_cancel_for_user(job=job_get(job_id=job_id), user=request.user)
        return Response(self.OutputSerializer(job).data)
