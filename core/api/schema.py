"""What drf-spectacular cannot see by itself, so that the OpenAPI document is exact: the bearer
and OIDC security schemes, unique component names for the serializers nested in views, the
error schema on every 4xx and 5xx answer, and paginated answers as their envelope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
NDJSON = "application/x-ndjson"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable; documented per endpoint."},
                "message": {"type": "string", "description": "For people."},
                "details": {"type": "object", "additionalProperties": {}},
            },
        }
    },
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sv_…",
            "description": "A personal API token (POST /api/tokens/ or the Tokens page).",
        }


class OidcScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.oidc.OidcBearerAuthentication"
    name = "oidc"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        if settings.OIDC_OP_DISCOVERY_URL:
            return {"type": "openIdConnect", "openIdConnectUrl": settings.OIDC_OP_DISCOVERY_URL}
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the configured OpenID provider.",
        }


class ApiAutoSchema(AutoSchema):
    """A view may name its own error schema (`openapi_error_schema`) and media type
    (`openapi_error_media_type`), as the adapters for other communities' clients do; the
    default is Error, as JSON."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        """Every operation may answer any 4xx or 5xx, always in the error format."""
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        schema = getattr(self.view, "openapi_error_schema", None) or ERROR_REF
        media_type = getattr(self.view, "openapi_error_media_type", None)
        content = (
            {media_type: {"schema": schema}} if media_type else error_content(operation, schema)
        )
        responses = operation.setdefault("responses", {})
        for code, response in list(responses.items()):
            if code[0] in "45" and "content" not in response:
                responses[code] = {**response, "content": content}
        responses.setdefault("4XX", {"description": "Refused; see error.code.", "content": content})
        responses.setdefault("5XX", {"description": "Server or storage fault.", "content": content})
        return operation

    def get_operation_id(self) -> str:
        """List views answer pages (not arrays), which drf-spectacular would call `_retrieve`
        and number apart from the detail view's `_retrieve`."""
        operation_id: str = super().get_operation_id()
        if "List" in type(self.view).__name__ and operation_id.endswith("_retrieve"):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        """`GroupMembersView.InputSerializer` becomes `GroupMembersInput`: every view nests an
        InputSerializer, and one component name for all of them would be a wrong schema."""
        qualified = type(serializer).__qualname__.split(".")
        if len(qualified) == 1:
            return qualified[0]
        outer, inner = qualified[-2], qualified[-1]
        return outer.removesuffix("View") + inner.removesuffix("Serializer")


def paginated(serializer: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The envelope core.api.pagination.Pagination answers with, around `serializer` items."""
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "countExact": serializers.BooleanField(
                help_text="False when there are more rows than `count` (counting stops there)."
            ),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


def error_content(operation: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Errors are JSON, and NDJSON too where the operation answers NDJSON (its renderer
    writes the error on one line)."""
    media_types = {"application/json"}
    for response in operation.get("responses", {}).values():
        media_types |= {m for m in response.get("content", {}) if m.startswith(NDJSON)}
    return {media_type: {"schema": schema} for media_type in sorted(media_types)}


def add_error_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the component that ApiAutoSchema's error answers refer to."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    return result


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Items per page (default 100, at most 1000)."),
]
