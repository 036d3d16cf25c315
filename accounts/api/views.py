from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import token_get_for_user, token_list_for_user
from accounts.services import token_create, token_revoke


class TokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    parent_id = serializers.IntegerField(
        allow_null=True, help_text="The token this one was made with."
    )


class TokenListCreateView(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False, default="")
        expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)

    class CreatedSerializer(TokenOutputSerializer):
        token = serializers.CharField(help_text="Shown once; store it now.")

    @extend_schema(responses=TokenOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = token_list_for_user(user=request.user)
        return Response(TokenOutputSerializer(tokens, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        days = data.validated_data.get("expires_in_days")
        issued = token_create(
            user=request.user,  # type: ignore[arg-type]
            name=data.validated_data["name"],
            lifetime=timedelta(days=days) if days else None,
            parent=request.auth if isinstance(request.auth, ApiToken) else None,
        )
        body = {**TokenOutputSerializer(issued.token).data, "token": issued.raw}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(responses={200: TokenOutputSerializer})
    def delete(self, request: Request, token_id: int) -> Response:
        token = token_get_for_user(token_id=token_id, user=request.user)
        return Response(TokenOutputSerializer(token_revoke(token=token, actor=request.user)).data)
