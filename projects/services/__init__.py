"""Every write to projects goes through these functions."""

from projects.services.completion import (
    session_complete_request,
    session_completion_run,
    session_for_action,
)
from projects.services.links import LinkRequest, link_create
from projects.services.provisioning import (
    project_provision,
    upload_authorize,
    version_provision,
    version_provision_external,
)
from projects.services.removal import removals_run, session_purge_begin, version_expire_begin
from projects.services.search import index_build_request, index_build_run, metadata_search
from projects.services.sessions import FileRequest, SessionRequest, SessionStarted, session_start
from projects.services.sweep import projects_sweep

__all__ = [
    "FileRequest",
    "LinkRequest",
    "SessionRequest",
    "SessionStarted",
    "index_build_request",
    "index_build_run",
    "link_create",
    "metadata_search",
    "project_provision",
    "projects_sweep",
    "removals_run",
    "session_complete_request",
    "session_completion_run",
    "session_for_action",
    "session_purge_begin",
    "session_start",
    "upload_authorize",
    "version_expire_begin",
    "version_provision",
    "version_provision_external",
]
