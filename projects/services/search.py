"""The search index of metadata (PostgreSQL): one SearchEntry per document of an available
version, holding the document as served (with `_extra`) as JSONB, for containment, and its
words, for full-text search.

Completions index their own documents as they store them. The global re-indexing
(POST /api/index/build) recomputes every entry in batches under the `__all_projects__` lock
(IndexState): it does not block uploads, which keep indexing theirs meanwhile, and searches
keep answering from the entries as they are.
"""

from __future__ import annotations

import logging
import re
import shlex
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import transaction
from django.db.models import F, Func, Q, QuerySet
from django.utils import timezone

from core import strict_json
from core.errors import ApplicationError
from core.models import Job
from core.queueing import enqueue_on_commit
from core.services import job_create, job_fail, job_start, job_succeed
from core.types import AnyUser
from groups.permissions import user_is_curator
from projects.documents import document_body
from projects.errors import ALL_PROJECTS, ProjectLockedError
from projects.models import IndexState, MetadataDocument, ProjectVersion, SearchEntry
from projects.selectors import readable_versions_q, version_files

logger = logging.getLogger(__name__)
AVAILABLE = ProjectVersion.Status.AVAILABLE
_TERM = re.compile(r"^(?P<field>[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*):(?P<value>.+)$")


class JsonbWords(Func):
    """The words of every string and number in a JSON document (text search config simple)."""

    template = (
        "jsonb_to_tsvector('simple'::regconfig, %(expressions)s, '[\"string\", \"numeric\"]')"
    )
    output_field = SearchVectorField()


# --- writing the index ------------------------------------------------------------------------


def _index(documents: QuerySet[MetadataDocument], *, now: datetime) -> int:
    rows: list[SearchEntry] = []
    files_by_version: dict[int, Any] = {}
    for document in documents.select_related("version", "version__project", "file"):
        version = document.version
        if version.pk not in files_by_version:
            files_by_version[version.pk] = version_files(version=version)
        body = document_body(
            document, version=version, files=files_by_version[version.pk], indexed_at=now
        )
        rows.append(SearchEntry(document=document, body=body, indexed_at=now))
    SearchEntry.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["document"],
        update_fields=["body", "indexed_at"],
    )
    SearchEntry.objects.filter(document__in=[row.document_id for row in rows]).update(
        vector=JsonbWords(F("body"))
    )
    return len(rows)


def search_entries_refresh(*, version_ids: Iterable[int]) -> int:
    """(Re)index every document of these versions; in the caller's transaction."""
    documents = MetadataDocument.objects.filter(
        version_id__in=list(version_ids), version__status=AVAILABLE
    )
    return _index(documents, now=timezone.now())


# --- re-indexing ------------------------------------------------------------------------------


def index_state() -> IndexState:
    """The state of the index; `ok` (and unsaved) before any re-indexing."""
    return IndexState.objects.filter(pk=1).select_related("job").first() or IndexState(pk=1)


def index_build_request(*, user: AnyUser) -> Job:
    """Start a global re-indexing (staff); 423 while one runs (ArtifactDB's global lock)."""
    from projects.tasks import build_index_task

    if not user_is_curator(user):
        raise ApplicationError("not_curator", "Only curators may rebuild the index.", status=403)
    IndexState.objects.get_or_create(pk=1)
    now = timezone.now()
    with transaction.atomic():
        state = IndexState.objects.select_for_update().get(pk=1)
        if state.state == IndexState.State.REINDEXING:
            heartbeat = state.heartbeat_at or state.started_at or now
            if heartbeat > now - settings.PROJECT_INDEX_STALE_AFTER:
                raise ProjectLockedError(ALL_PROJECTS, stage="index_all")
            if state.job_id is not None:
                job_fail(job_id=state.job_id, reason="The re-indexing stopped responding.")
        job = job_create(kind="index.build", actor=user)
        state.state = IndexState.State.REINDEXING
        state.job = job
        state.started_at = state.heartbeat_at = now
        state.finished_at = None
        state.documents = 0
        state.reason = ""
        state.save()
        enqueue_on_commit(build_index_task, str(job.pk), recovered_by="sweep_project_uploads_task")
    return job


class _Superseded(Exception):
    pass


def index_build_run(*, job_id: uuid.UUID | str) -> Job | None:
    """Re-index every document of every available version, a batch per transaction; None when
    the job was already run."""
    if job_start(job_id=job_id) is None:
        return None
    indexed = 0
    last = 0
    try:
        while True:
            batch = list(
                MetadataDocument.objects.filter(pk__gt=last, version__status=AVAILABLE)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.PROJECT_INDEX_BATCH]
            )
            if not batch:
                break
            with transaction.atomic():
                state = _locked_state(job_id)
                indexed += _index(MetadataDocument.objects.filter(pk__in=batch), now=timezone.now())
                state.heartbeat_at = timezone.now()
                state.documents = indexed
                state.save(update_fields=["heartbeat_at", "documents"])
            last = batch[-1]
        with transaction.atomic():
            state = _locked_state(job_id)
            state.state = IndexState.State.OK
            state.finished_at = timezone.now()
            state.save(update_fields=["state", "finished_at"])
            return job_succeed(job_id=job_id, result={"indexed_documents": indexed})
    except _Superseded:
        return job_fail(job_id=job_id, reason="Another re-indexing took over.")
    except Exception as exc:
        logger.exception("re-indexing %s failed", job_id)
        reason = (
            exc.message if isinstance(exc, ApplicationError) else "An internal error stopped it."
        )
        with transaction.atomic():
            state = IndexState.objects.select_for_update().get(pk=1)
            if state.job_id is not None and str(state.job_id) == str(job_id):
                state.state = IndexState.State.FAILED
                state.finished_at = timezone.now()
                state.reason = reason
                state.save(update_fields=["state", "finished_at", "reason"])
        return job_fail(job_id=job_id, reason=f"The re-indexing failed: {reason}")


def _locked_state(job_id: uuid.UUID | str) -> IndexState:
    state = IndexState.objects.select_for_update().get(pk=1)
    if state.job_id is None or str(state.job_id) != str(job_id):
        raise _Superseded()
    return state


# --- searching --------------------------------------------------------------------------------


def _nested(path: str, value: Any) -> dict[str, Any]:
    result: Any = value
    for part in reversed(path.split(".")):
        result = {part: result}
    return dict(result)


def _term_filter(field: str, text: str) -> Q:
    """`field:value`: the JSON at the dotted path holds the value (as text, as a number or
    boolean when it reads as one, or as one item of a list)."""
    values: list[Any] = [text]
    try:
        typed = strict_json.loads(text)
    except (ValueError, strict_json.JsonRefused):  # NaN, 1e309 and the like stay text
        typed = None
    if isinstance(typed, bool | int | float):
        values.append(typed)
    condition = Q()
    for value in values:
        condition |= Q(body__contains=_nested(field, value))
        condition |= Q(body__contains=_nested(field, [value]))
    return condition


def search_filter(q: str) -> Q:
    """ArtifactDB-like queries: `field:value` terms (dotted paths, e.g. `_extra.project_id:X`)
    and free words (web search syntax: "quoted phrases", or, -not), all required."""
    try:
        tokens = shlex.split(q)
    except ValueError as exc:
        raise ApplicationError("invalid_query", f"The query cannot be read: {exc}.") from None
    condition = Q()
    words = []
    for term in tokens:
        match = _TERM.match(term)
        if match is not None:
            condition &= _term_filter(match["field"], match["value"])
        elif term != "*":
            words.append(f'"{term}"' if " " in term else term)
    if words:
        condition &= Q(
            vector=SearchQuery(" ".join(words), config="simple", search_type="websearch")
        )
    return condition


def metadata_search(
    *, user: AnyUser, q: str, size: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Documents the caller may read that match `q`; a page of them and the total."""
    entries = SearchEntry.objects.filter(document__version__status=AVAILABLE)
    readable = readable_versions_q(user=user, prefix="document__version__")
    if readable is not None:
        entries = entries.filter(readable)
    entries = entries.filter(search_filter(q))
    total = entries.count()
    page = entries.order_by(
        "document__version__project__accession", "document__version__version", "document__path"
    )[offset : offset + size]
    return [entry.body for entry in page], total
