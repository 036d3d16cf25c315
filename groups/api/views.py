from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.converters import BIGINT_MAX
from filesharing.selectors import group_storage_used
from groups.models import Group, Membership
from groups.selectors import group_get_for_user, group_list_for_user, group_members
from groups.services import (
    group_create,
    group_member_add,
    group_member_remove,
    group_set_quota,
)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()


class GroupOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    institution = serializers.CharField()
    contact_email = serializers.CharField(help_text="An email address, or empty.")
    quota_bytes = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class GroupDetailSerializer(GroupOutputSerializer):
    used_bytes = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()

    def get_used_bytes(self, group: Group) -> int:
        return group_storage_used(group=group)

    def get_members(self, group: Group) -> list[dict[str, str]]:
        return MemberSerializer(group_members(group=group), many=True).data  # type: ignore[return-value]


class GroupListCreateView(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.RegexField(r"^[\w][\w .,()'-]*$", max_length=150)
        institution = serializers.CharField(max_length=255, required=False, default="")
        contact_email = serializers.EmailField(required=False, default="")

    @extend_schema(responses=GroupOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        groups = group_list_for_user(user=request.user)
        return Response(GroupOutputSerializer(groups, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: GroupDetailSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_create(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(GroupDetailSerializer(group).data, status=status.HTTP_201_CREATED)


class GroupDetailView(APIView):
    class QuotaInputSerializer(serializers.Serializer):
        quota_bytes = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, allow_null=True)

    @extend_schema(responses=GroupDetailSerializer)
    def get(self, request: Request, group_id: int) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        return Response(GroupDetailSerializer(group).data)

    @extend_schema(request=QuotaInputSerializer, responses=GroupDetailSerializer)
    def patch(self, request: Request, group_id: int) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        data = self.QuotaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_set_quota(
            actor=request.user, group=group, quota_bytes=data.validated_data["quota_bytes"]
        )
        return Response(GroupDetailSerializer(group).data)


class GroupMembersView(APIView):
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=Membership.Role.choices, default="member")

    @extend_schema(request=InputSerializer, responses={201: MemberSerializer})
    def post(self, request: Request, group_id: int) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = group_member_add(actor=request.user, group=group, **data.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class GroupMemberDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: int, username: str) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        group_member_remove(actor=request.user, group=group, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
