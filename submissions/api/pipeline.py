"""The preprocessing pipeline's endpoints (Loculus's extract-unprocessed / submit-processed)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from groups.permissions import IsPipeline
from submissions.api.ndjson import MEDIA_TYPE, NdjsonParser, NdjsonRenderer, ndjson_response
from submissions.api.serializers import UnprocessedEntrySerializer, unprocessed_records
from submissions.models import MAX_VERSION
from submissions.organisms import organism_get, organisms
from submissions.parsing import FileCitation
from submissions.selectors import current_pipeline_versions, entries_by_ids
from submissions.services import (
    ProcessedResult,
    entries_claim_for_processing,
    entries_record_processed,
)


class UnprocessedView(APIView):
    renderer_classes = [JSONRenderer, NdjsonRenderer]
    permission_classes = [IsPipeline]

    class QuerySerializer(serializers.Serializer):
        numberOfEntries = serializers.IntegerField(
            min_value=1, max_value=settings.MAX_ENTRIES_PER_PIPELINE_REQUEST
        )
        pipelineVersion = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)
        organism = serializers.CharField(
            required=False, max_length=64, help_text="Default: the default organism."
        )

    @extend_schema(
        parameters=[QuerySerializer],
        responses={(200, MEDIA_TYPE): UnprocessedEntrySerializer},
        description="Entries the pipeline version has not processed, one JSON object per line; "
        "they become IN_PROCESSING. File URLs are presigned GETs valid for 30 minutes.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        claim = entries_claim_for_processing(
            user=request.user,  # type: ignore[arg-type]
            organism=organism_get(values.get("organism")),
            pipeline_version=values["pipelineVersion"],
            limit=values["numberOfEntries"],
        )
        return ndjson_response(
            unprocessed_records(claim, entries_by_ids(entry_ids=claim.entry_ids))
        )


class ProcessedLineSerializer(serializers.Serializer):
    """One line of the body of /api/pipeline/processed (documentation; see _result)."""

    accession = serializers.CharField()
    version = serializers.IntegerField(min_value=1)
    data = serializers.JSONField(  # type: ignore[assignment]
        help_text='{"metadata": {...}, "files": {category: [{"fileId", "name"}]}}'
    )
    errors = serializers.ListField(required=False)  # type: ignore[assignment]
    warnings = serializers.ListField(required=False)


class ProcessedView(APIView):
    permission_classes = [IsPipeline]
    parser_classes = [NdjsonParser]

    class QuerySerializer(serializers.Serializer):
        pipelineVersion = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)

    @extend_schema(
        parameters=[QuerySerializer],
        request={MEDIA_TYPE: ProcessedLineSerializer},
        responses={204: None},
        description="The pipeline's results, one JSON object per line. Output file categories "
        "are checked and every file must be verified and of the entry's group; a submitted "
        "file may be passed through as an output. All lines are stored, or none.",
    )
    def post(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lines: list[tuple[int, Any]] = request.data.get("lines", [])
        if not lines:
            raise ApplicationError("empty_body", "The body holds no results.")
        entries_record_processed(
            user=request.user,  # type: ignore[arg-type]
            pipeline_version=query.validated_data["pipelineVersion"],
            results=[_result(number, item) for number, item in lines],
        )
        return Response(status=204)


def _invalid(number: int, problem: str) -> ApplicationError:
    return ApplicationError(
        "invalid_processed_data", f"Line {number}: {problem}", details={"line": number}
    )


def _result(number: int, item: Any) -> ProcessedResult:
    if not isinstance(item, dict):
        raise _invalid(number, "not a JSON object.")
    accession, version, data = item.get("accession"), item.get("version"), item.get("data")
    if not isinstance(accession, str) or not accession:
        raise _invalid(number, "accession must be text.")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _invalid(number, "version must be a positive integer.")
    if not isinstance(data, dict):
        raise _invalid(number, "data must be an object with metadata and files.")
    metadata, files = data.get("metadata", {}), data.get("files") or {}
    if not isinstance(metadata, dict):
        raise _invalid(number, "data.metadata must be an object.")
    if not isinstance(files, dict) or not all(isinstance(v, list) for v in files.values()):
        raise _invalid(number, "data.files must map categories to lists.")
    errors, warnings = item.get("errors") or [], item.get("warnings") or []
    if not isinstance(errors, list) or not isinstance(warnings, list):
        raise _invalid(number, "errors and warnings must be lists.")
    return ProcessedResult(
        line=number,
        accession=accession,
        version=version,
        metadata=metadata,
        files=[
            _citation(number, category, file) for category, items in files.items() for file in items
        ],
        errors=errors,
        warnings=warnings,
    )


def _citation(number: int, category: str, item: Any) -> FileCitation:
    file_id = item.get("fileId") if isinstance(item, dict) else None
    name = item.get("name") if isinstance(item, dict) else None
    try:
        canonical = str(uuid.UUID(str(file_id)))
    except ValueError:
        canonical = ""
    if not canonical or not isinstance(name, str):
        raise _invalid(number, f"data.files.{category}: {item!r} needs a fileId and a name.")
    return FileCitation(category=category, name=name, file_id=canonical)


class PipelineVersionsView(APIView):
    @extend_schema_serializer(component_name="PipelineVersion")
    class OutputSerializer(serializers.Serializer):
        organism = serializers.CharField()
        version = serializers.IntegerField()

    @extend_schema(
        responses=OutputSerializer(many=True),
        parameters=[OpenApiParameter("organism", OpenApiTypes.STR, required=False)],
    )
    def get(self, request: Request) -> Response:
        stored = current_pipeline_versions()
        names = (
            [request.query_params["organism"]]
            if "organism" in request.query_params
            else organisms()
        )
        body = [
            {"organism": organism_get(name).name, "version": stored.get(name, 1)} for name in names
        ]
        return Response(body)
