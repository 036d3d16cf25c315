"""GA4GH DRS 1.2 under /ga4gh/drs/v1/: service-info, objects and access URLs. Released
objects are open to all; the rest need a Bearer token (or session) of someone who may see
them, exactly as in the rest of the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from filesharing.services import file_download_url
from interop.capabilities import capabilities_document
from interop.drs.errors import drs_exception_handler
from interop.drs.ids import drs_hostname, drs_id_parse
from interop.drs.objects import ACCESS_ID, blob, bundle, visible_file
from interop.errors import hidden_or_missing

DRS_VERSION = "1.2.0"


class DrsView(APIView):
    # GA4GH DRS's Error: {msg, status_code}, plus our stable code.
    openapi_error_schema = {
        "type": "object",
        "required": ["msg", "status_code"],
        "properties": {
            "msg": {"type": "string"},
            "status_code": {"type": "integer"},
            "code": {"type": "string"},
        },
    }
    permission_classes = [AllowAny]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return drs_exception_handler


class ServiceInfoView(DrsView):
    @extend_schema(operation_id="drs_service_info", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        host = drs_hostname(request).split(":")[0]
        return Response(
            {
                "id": ".".join(reversed(host.split("."))) + ".seqvault.drs",
                "name": "seqvault DRS",
                "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_VERSION},
                "description": "Sequencing files (blobs) and entry versions (bundles) by ID.",
                "organization": {"name": "seqvault", "url": request.build_absolute_uri("/")},
                "documentationUrl": request.build_absolute_uri("/api/docs/"),
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                "capabilities": capabilities_document(request),
            }
        )


def _lookup(request: Request, found: Callable[[], Any]) -> Any:
    try:
        return found()
    except NotFoundError as error:
        raise hidden_or_missing(user=request.user, error=error, what="object") from None


class ObjectView(DrsView):
    @extend_schema(
        operation_id="drs_get_object",
        parameters=[OpenApiParameter("expand", bool, default=False)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, object_id: str) -> Response:
        drs_id = drs_id_parse(object_id)
        if drs_id is None:
            raise hidden_or_missing(
                user=request.user, error=NotFoundError("object", object_id), what="object"
            )
        if drs_id.file_id is not None:
            file = _lookup(request, lambda: visible_file(file_id=object_id, user=request.user))
            return Response(blob(request, file))
        expand = request.query_params.get("expand", "false").lower() in {"true", "1", "yes"}
        return Response(
            _lookup(request, lambda: bundle(request, drs_id, request.user, expand=expand))
        )


class AccessView(DrsView):
    @extend_schema(operation_id="drs_get_access_url", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, object_id: str, access_id: str) -> Response:
        drs_id = drs_id_parse(object_id)
        if drs_id is None or drs_id.file_id is None:
            # Bundles have no bytes of their own: their contents each have an access method.
            raise hidden_or_missing(
                user=request.user, error=NotFoundError("object", object_id), what="object"
            )
        file = _lookup(request, lambda: visible_file(file_id=object_id, user=request.user))
        if access_id != ACCESS_ID:
            raise NotFoundError("access_method", access_id)
        presigned = file_download_url(file=file, actor=request.user)
        return Response({"url": presigned.url})
