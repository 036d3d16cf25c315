"""The `files` list of request-uploads, checked by hand: a thousand nested DRF serializers would
cost more than everything else the request does."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

SHA256_PATTERN = re.compile(r"^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$")
MD5_PATTERN = re.compile(r"^(?:[0-9a-fA-F]{32}|[A-Za-z0-9+/]{22}==)$")
ALLOWED_KEYS = frozenset({"name", "size", "sha256", "md5", "contentType"})
MAX_NAME_INPUT = 4096  # longer than any valid name; the name rules live in the service
MAX_CONTENT_TYPE = 255

FILE_SPEC_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": MAX_NAME_INPUT},
            "size": {"type": "integer", "minimum": 0, "nullable": True},
            "sha256": {"type": "string", "pattern": SHA256_PATTERN.pattern, "nullable": True},
            "md5": {"type": "string", "pattern": MD5_PATTERN.pattern, "nullable": True},
            "contentType": {"type": "string", "maxLength": MAX_CONTENT_TYPE},
        },
    },
}


def _item_errors(item: Any) -> dict[str, str]:
    if not isinstance(item, dict):
        return {"non_field_errors": "Expected an object."}
    errors = {key: "Unknown field." for key in item.keys() - ALLOWED_KEYS}
    name = item.get("name")
    if not isinstance(name, str):
        errors["name"] = "Required; a string."
    elif len(name) > MAX_NAME_INPUT:
        errors["name"] = f"At most {MAX_NAME_INPUT} characters."
    size = item.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        errors["size"] = "A whole number of bytes, 0 or more."
    sha256 = item.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and SHA256_PATTERN.match(sha256)):
        errors["sha256"] = "A SHA-256 digest: 64 hex digits or 44 base64 characters."
    md5 = item.get("md5")
    if md5 is not None and not (isinstance(md5, str) and MD5_PATTERN.match(md5)):
        errors["md5"] = "An MD5 digest: 32 hex digits or 24 base64 characters."
    content_type = item.get("contentType", "")
    if not isinstance(content_type, str) or len(content_type) > MAX_CONTENT_TYPE:
        errors["contentType"] = f"A string of at most {MAX_CONTENT_TYPE} characters."
    return errors


@extend_schema_field(FILE_SPEC_SCHEMA)
class FileSpecListField(serializers.Field):
    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError("A non-empty list of {name, size, sha256} objects.")
        errors: dict[str, Any] = {}
        for index, item in enumerate(data):
            if item_errors := _item_errors(item):
                errors[str(index)] = item_errors
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def to_representation(self, value: Any) -> Any:
        return value
