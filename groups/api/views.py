from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import Pagination
from core.api.schema import PAGE_PARAMETERS, paginated
from core.converters import BIGINT_MAX
from filesharing.selectors import group_storage_used
from groups.models import Group, GroupInvitation, Membership
from groups.selectors import (
    group_get_for_user,
    group_invitation_list_for_user,
    group_list_for_user,
    group_members,
    invitation_list_for_user,
)
from groups.services import (
    group_create,
    group_invitation_accept,
    group_invitation_decline,
    group_invitation_revoke,
    group_member_add,
    group_member_remove,
    group_set_quota,
)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Unguessable; the invitee accepts or declines by it.")
    group = serializers.IntegerField(source="group_id")
    group_name = serializers.CharField(source="group.name")
    username = serializers.CharField(help_text="The username invited, as the admin gave it.")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    status = serializers.ChoiceField(choices=GroupInvitation.Status.choices)
    invited_by = serializers.CharField(
        source="invited_by.username", allow_null=True, help_text="The admin who invited."
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


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

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OpenApiResponse(MemberSerializer, description="A member's role, changed."),
            202: OpenApiResponse(
                InvitationSerializer,
                description="Anyone else is invited (the same answer whether or not an "
                "account of that name exists); they join once they accept.",
            ),
        },
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        added = group_member_add(actor=request.user, group=group, **data.validated_data)
        if isinstance(added, Membership):
            return Response(MemberSerializer(added).data)
        return Response(InvitationSerializer(added).data, status=status.HTTP_202_ACCEPTED)


class GroupMemberDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: int, username: str) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        group_member_remove(actor=request.user, group=group, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupInvitationListView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS, responses=paginated(InvitationSerializer, "GroupInvitation")
    )
    def get(self, request: Request, group_id: int) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        invitations = group_invitation_list_for_user(group=group, user=request.user)
        paginator = Pagination()
        page = paginator.paginate_queryset(invitations, request, view=self)
        return paginator.get_paginated_response(InvitationSerializer(page, many=True).data)


class GroupInvitationDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: int, invitation_id: uuid.UUID) -> Response:
        group = group_get_for_user(group_id=group_id, user=request.user)
        group_invitation_revoke(actor=request.user, group=group, invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS, responses=paginated(InvitationSerializer, "Invitation")
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            invitation_list_for_user(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(InvitationSerializer(page, many=True).data)


class InvitationAcceptView(APIView):
    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request: Request, invitation_id: uuid.UUID) -> Response:
        invitation = group_invitation_accept(
            user=request.user,  # type: ignore[arg-type]
            invitation_id=invitation_id,
        )
        return Response(InvitationSerializer(invitation).data)


class InvitationDeclineView(APIView):
    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request: Request, invitation_id: uuid.UUID) -> Response:
        invitation = group_invitation_decline(
            user=request.user,  # type: ignore[arg-type]
            invitation_id=invitation_id,
        )
        return Response(InvitationSerializer(invitation).data)
