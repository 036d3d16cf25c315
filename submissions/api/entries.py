"""Submit, revise, revoke, approve, and read entries."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import IdField
from core.api.pagination import Pagination
from core.api.schema import PAGE_PARAMETERS, paginated
from core.errors import NotFoundError
from groups.models import Group
from submissions.api.serializers import EntrySerializer
from submissions.models import SequenceEntry
from submissions.organisms import organism_get
from submissions.parsing import parse_submission
from submissions.reading import too_large
from submissions.selectors import (
    EntryFilters,
    current_pipeline_versions,
    entry_get_for_user,
    entry_list_for_user,
    readable_group_ids,
)
from submissions.services import entries_approve, entries_revise, entries_revoke, entries_submit


class AccessionVersionSerializer(serializers.Serializer):
    submissionId = serializers.CharField(source="submission_id")
    accession = serializers.CharField()
    version = serializers.IntegerField()


def _group(group_id: int) -> Group:
    """The group by ID; whether the caller may act for it is the service's decision."""
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFoundError("group", group_id)
    return group


def _params(request: Request, *names: str) -> dict[str, Any]:
    """Query parameters, or the same names as form fields (as Loculus clients send them)."""
    found = {name: request.data.get(name) for name in names if request.data.get(name)}
    return {
        **found,
        **{name: request.query_params[name] for name in names if name in request.query_params},
    }


def _upload(request: Request, name: str) -> UploadedFile | bytes | None:
    """A form part: a file part (read as a stream by the parser), or a plain field's bytes."""
    part = request.FILES.get(name)
    if isinstance(part, UploadedFile):
        return part
    value = request.data.get(name)
    return value.encode() if isinstance(value, str) and value else None


def _refuse_oversized_body(request: Request) -> None:
    """Refuse before reading a body larger than the files it may carry (three parts at most,
    each within SUBMISSION_MAX_FILE_BYTES): nothing of it is stored, even in temporary files."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = 3 * settings.SUBMISSION_MAX_FILE_BYTES + 1024**2
    if length > limit:
        raise too_large(
            "submission_file_too_large",
            f"The request body is {length} bytes; a submission's files are at most "
            f"{settings.SUBMISSION_MAX_FILE_BYTES} bytes each (split the submission).",
            size=length,
            limit=settings.SUBMISSION_MAX_FILE_BYTES,
        )


class _SubmissionForm(serializers.Serializer):
    metadataFile = serializers.FileField(
        help_text="TSV: submissionId (accession to revise), metadata columns, and "
        "files.<category> columns of space-separated name:fileId pairs. May be gzipped."
    )
    sequenceFile = serializers.FileField(
        required=False, help_text="FASTA whose IDs are the submissionIds. May be gzipped."
    )
    fileMapping = serializers.CharField(
        required=False,
        help_text='JSON {submissionId: {category: [{"fileId", "name"}]}}, as a field or file.',
    )


class SubmitView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class QuerySerializer(serializers.Serializer):
        groupId = IdField()
        organism = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        parameters=[QuerySerializer],
        request={"multipart/form-data": _SubmissionForm},
        responses={200: AccessionVersionSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        _refuse_oversized_body(request)
        query = self.QuerySerializer(data=_params(request, "groupId", "organism"))
        query.is_valid(raise_exception=True)
        form = _SubmissionForm(data=request.data)
        form.is_valid(raise_exception=True)
        organism = organism_get(query.validated_data.get("organism"))
        group = _group(query.validated_data["groupId"])
        rows = parse_submission(
            organism=organism,
            metadata_tsv=_upload(request, "metadataFile") or b"",
            sequence_fasta=_upload(request, "sequenceFile"),
            file_mapping=_upload(request, "fileMapping"),
        )
        entries = entries_submit(user=request.user, group=group, organism=organism, rows=rows)  # type: ignore[arg-type]
        return Response(AccessionVersionSerializer(entries, many=True).data)


class ReviseView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class QuerySerializer(serializers.Serializer):
        organism = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        parameters=[QuerySerializer],
        request={"multipart/form-data": _SubmissionForm},
        responses={200: AccessionVersionSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        _refuse_oversized_body(request)
        query = self.QuerySerializer(data=_params(request, "organism"))
        query.is_valid(raise_exception=True)
        form = _SubmissionForm(data=request.data)
        form.is_valid(raise_exception=True)
        organism = organism_get(query.validated_data.get("organism"))
        rows = parse_submission(
            organism=organism,
            metadata_tsv=_upload(request, "metadataFile") or b"",
            sequence_fasta=_upload(request, "sequenceFile"),
            file_mapping=_upload(request, "fileMapping"),
            revision=True,
        )
        entries = entries_revise(user=request.user, organism=organism, rows=rows)  # type: ignore[arg-type]
        return Response(AccessionVersionSerializer(entries, many=True).data)


class RevokeView(APIView):
    @extend_schema_serializer(component_name="RevokeRequest")
    class InputSerializer(serializers.Serializer):
        accessions = serializers.ListField(
            child=serializers.CharField(max_length=32), min_length=1, max_length=10_000
        )

    @extend_schema(request=InputSerializer, responses=AccessionVersionSerializer(many=True))
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entries = entries_revoke(user=request.user, accessions=data.validated_data["accessions"])  # type: ignore[arg-type]
        return Response(AccessionVersionSerializer(entries, many=True).data)


class ApproveView(APIView):
    @extend_schema_serializer(component_name="ApproveRequest")
    class InputSerializer(serializers.Serializer):
        accessionVersions = serializers.ListField(
            child=serializers.CharField(max_length=48),
            required=False,
            min_length=1,
            max_length=10_000,
        )
        scope = serializers.ChoiceField(choices=["all"], required=False)
        groupId = IdField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            by_scope = attrs.get("scope") == "all"
            if by_scope == ("accessionVersions" in attrs):
                raise serializers.ValidationError(
                    'Give accessionVersions, or scope "all" with groupId.'
                )
            if by_scope and "groupId" not in attrs:
                raise serializers.ValidationError({"groupId": 'Needed with scope "all".'})
            return attrs

    @extend_schema_serializer(component_name="ApprovedEntry")
    class OutputSerializer(serializers.Serializer):
        accession = serializers.CharField()
        version = serializers.IntegerField()
        accessionVersion = serializers.CharField(source="accession_version")

    @extend_schema(request=InputSerializer, responses=OutputSerializer(many=True))
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        group = _group(values["groupId"]) if values.get("scope") == "all" else None
        entries = entries_approve(
            user=request.user,  # type: ignore[arg-type]
            accession_versions=values.get("accessionVersions"),
            group=group,
        )
        return Response(self.OutputSerializer(entries, many=True).data)


def _entry_context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "current": current_pipeline_versions(),
        "readable": readable_group_ids(user=request.user),
    }


class EntryListView(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        groupId = IdField(required=False)
        status = serializers.ChoiceField(choices=SequenceEntry.Status.choices, required=False)
        organism = serializers.CharField(required=False, max_length=64)
        accession = serializers.CharField(required=False, max_length=32)
        latestOnly = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(EntrySerializer, "Entry"),
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        filters = EntryFilters(
            group_id=values.get("groupId"),
            status=values.get("status"),
            organism=values.get("organism"),
            accession=values.get("accession"),
            latest_only=values["latestOnly"],
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(
            entry_list_for_user(user=request.user, filters=filters), request, view=self
        )
        body = EntrySerializer(page, many=True, context=_entry_context(request)).data
        return paginator.get_paginated_response(body)


class EntryDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=EntrySerializer)
    def get(self, request: Request, accession_version: str) -> Response:
        entry = entry_get_for_user(accession_version=accession_version, user=request.user)
        return Response(EntrySerializer(entry, context=_entry_context(request)).data)
