from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import get_script_prefix, reverse
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import exception_handler
from core.api.schema import ERROR_REF
from projects.errors import ArtifactDBError

API_ROOT = "api/"


def api_relative(url_name: str, **kwargs: Any) -> str:
    """The path of a route relative to the API root (`/projects/…`, not `/api/projects/…`):
    ArtifactDB's clients prepend the root they are configured with to the URLs an answer
    gives them. Clients that prepend the host reach the same views, which are also served at
    the site's root (interop/artifactdb)."""
    path = reverse(url_name, kwargs=kwargs)
    root = get_script_prefix() + API_ROOT
    return "/" + path.removeprefix(root) if path.startswith(root) else path


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
