"""What anyone may read: released data and the organisms this instance accepts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from submissions.api.ndjson import MEDIA_TYPE, NdjsonRenderer, ndjson_response
from submissions.api.serializers import ReleasedEntrySerializer, released_records
from submissions.organisms import Organism, organism_get, organisms
from submissions.selectors import current_pipeline_versions, released_entries


class ReleasedDataView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, NdjsonRenderer]

    class QuerySerializer(serializers.Serializer):
        organism = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        parameters=[QuerySerializer],
        responses={(200, MEDIA_TYPE): ReleasedEntrySerializer},
        description="Every released entry version, one JSON object per line, with its processed "
        "metadata and its public files (URL, size, SHA-256).",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        name = query.validated_data.get("organism")
        if name:
            organism_get(name)
        entries = released_entries(organism=name).iterator(chunk_size=500)
        records = released_records(entries, request=request, current=current_pipeline_versions())
        return ndjson_response(records)


class OrganismListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="Organism")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        displayName = serializers.CharField()
        sequences = serializers.ChoiceField(choices=["required", "optional", "none"])
        segments = serializers.ListField(child=serializers.CharField())
        inputFileCategories = serializers.ListField(child=serializers.DictField())
        outputFileCategories = serializers.ListField(child=serializers.DictField())
        metadataSchema = serializers.JSONField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([_organism(organism) for organism in organisms().values()])


def _organism(organism: Organism) -> dict[str, Any]:
    return {
        "name": organism.name,
        "displayName": organism.display_name,
        "sequences": organism.sequences,
        "segments": list(organism.segments),
        "inputFileCategories": [asdict(c) for c in organism.input_file_categories],
        "outputFileCategories": [asdict(c) for c in organism.output_file_categories],
        "metadataSchema": organism.metadata_schema,
    }
