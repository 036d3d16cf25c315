from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import exception_handler
from core.api.schema import ERROR_REF
from projects.errors import ArtifactDBError


def projects_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """ArtifactDB's own error shape where its clients match on it; seqvault's everywhere else."""
    if isinstance(exc, ArtifactDBError):
        return Response({"status": "error", "reason": exc.message}, status=exc.status_code)
    return exception_handler(exc, context)


class ProjectsView(APIView):
    # ArtifactDB's refusals keep their shape; every other error is seqvault's.
    openapi_error_schema = {
        "anyOf": [
            ERROR_REF,
            {
                "type": "object",
                "required": ["status", "reason"],
                "properties": {"status": {"enum": ["error"]}, "reason": {"type": "string"}},
            },
        ]
    }

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return projects_exception_handler
