"""The `filenames` list of an upload, as ArtifactDB clients write it: names, or link and
checksum instructions `{filename, check, value}` (also wrapped as `{"filenames": {…}}`, as
one of ArtifactDB's own examples does). `check: "simple"` is what ArtifactDB's clients send for
an ordinary file: it is one, whatever its `value`. `size` and `sha256` may be declared to bind
the PUT URL to those bytes (required for multipart)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.services import FileRequest, LinkRequest
from projects.services.links import CHECKS

MAX_NAME_INPUT = 4096  # longer than any valid path; the path rules live in the service
SHA256_TEXT = 100
ALLOWED_KEYS = frozenset({"filename", "check", "value", "size", "sha256"})
SIMPLE = "simple"  # an ordinary file: uploaded, not linked

FILENAME_SCHEMA = {
    "oneOf": [
        {"type": "string", "maxLength": MAX_NAME_INPUT},
        {
            "type": "object",
            "required": ["filename"],
            "properties": {
                "filename": {"type": "string", "maxLength": MAX_NAME_INPUT},
                "check": {"type": "string", "enum": [SIMPLE, *CHECKS]},
                "value": {
                    "description": 'link: {"artifactdb_id": "<project>:<file>@<version>"}; '
                    'md5/sha256: {"field": "<metadata field>", "<field>": "<checksum>"}; '
                    "simple: ignored"
                },
                "size": {"type": "integer", "minimum": 0},
                "sha256": {"type": "string", "maxLength": SHA256_TEXT},
            },
        },
    ]
}


def _invalid(message: str) -> serializers.ValidationError:
    return serializers.ValidationError(message)


@extend_schema_field(FILENAME_SCHEMA)
class FilenameField(serializers.Field):
    def to_internal_value(self, data: Any) -> FileRequest:
        if isinstance(data, str):
            if len(data) > MAX_NAME_INPUT:
                raise _invalid(f"At most {MAX_NAME_INPUT} characters.")
            return FileRequest(path=data)
        if not isinstance(data, dict):
            raise _invalid("A file name, or an object with filename.")
        if set(data) == {"filenames"} and isinstance(data["filenames"], dict):
            data = data["filenames"]
        unknown = sorted(set(data) - ALLOWED_KEYS)
        if unknown:
            raise _invalid(f"Unknown keys: {', '.join(unknown)}.")
        path = data.get("filename")
        if not isinstance(path, str) or len(path) > MAX_NAME_INPUT:
            raise _invalid("filename is required: a string.")
        size = data.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise _invalid("size is a whole number of bytes, 0 or more.")
        sha256 = data.get("sha256")
        if sha256 is not None and (not isinstance(sha256, str) or len(sha256) > SHA256_TEXT):
            raise _invalid("sha256 is 64 hex digits or 44 base64 characters.")
        check = data.get("check")
        if check is None or check == SIMPLE:
            return FileRequest(path=path, size=size, sha256=sha256)
        if check not in CHECKS:
            raise _invalid(f"check is one of {', '.join((SIMPLE, *CHECKS))}.")
        if "value" not in data:
            raise _invalid(f"check {check} needs a value.")
        return FileRequest(path=path, link=LinkRequest(check=check, value=data["value"]))

    def to_representation(self, value: Any) -> Any:
        return value
