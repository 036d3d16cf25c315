"""Searching metadata (PostgreSQL JSONB and full text) as the caller may read it, and the global
re-indexing with its lock and status."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings

from core.models import Job
from projects.models import IndexState, SearchEntry
from projects.services import index_build_run
from tests.celery_worker import wait_until
from tests.projects.conftest import uploaded_version

pytestmark = pytest.mark.django_db


def run_document(sample: str, *, platform: str = "ILLUMINA", read_count: int = 42) -> bytes:
    return json.dumps(
        {
            "$schema": "sequencing_run/v1.json",
            "path": "reads.fastq",
            "sample": sample,
            "platform": platform,
            "instrument": "NovaSeq 6000 lane seven",
            "read_count": read_count,
        }
    ).encode()


def publish(actor: Any, sample: str, read_access: str, **fields: Any) -> str:
    answer = uploaded_version(
        actor,
        {"reads.fastq": b"@r\nACGT\n+\nIIII\n", "reads.fastq.json": run_document(sample, **fields)},
        permissions={"read_access": read_access},
    )
    return str(answer["project_id"])


def search(client: Any, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/projects/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return dict(response.json())


def samples(page: dict[str, Any]) -> list[str]:
    return sorted(document["sample"] for document in page["results"])


def test_search_finds_words_and_fields_the_caller_may_read(
    submitter: Any, stranger: Any, anonymous: Any
) -> None:
    public = publish(submitter, "alpha-1", "public")
    publish(submitter, "alpha-2", "group", platform="PACBIO_SMRT")
    publish(submitter, "beta-3", "owners", read_count=7)

    # words, anywhere in the document
    assert samples(search(anonymous, "seven")) == ["alpha-1"]
    assert samples(search(stranger.client, "novaseq")) == ["alpha-1"]
    assert samples(search(submitter.client, "novaseq")) == ["alpha-1", "alpha-2", "beta-3"]
    # field:value terms, dotted paths into _extra, numbers, combined with words
    assert samples(search(submitter.client, "platform:PACBIO_SMRT")) == ["alpha-2"]
    assert samples(search(submitter.client, "read_count:7")) == ["beta-3"]
    assert samples(search(anonymous, f"_extra.project_id:{public}")) == ["alpha-1"]
    assert samples(search(submitter.client, "platform:ILLUMINA lane -seven")) == []
    assert samples(search(submitter.client, '"NovaSeq 6000" read_count:42')) == [
        "alpha-1",
        "alpha-2",
    ]
    # pages: count on this page, total overall
    page = search(submitter.client, "*", size=2)
    assert (page["count"], page["total"]) == (2, 3)
    assert search(submitter.client, "*", size=2, **{"from": 2})["count"] == 1
    # the served documents are those of the metadata endpoint
    [document] = search(anonymous, "alpha-1")["results"]
    assert document["_extra"]["id"] == f"{public}:reads.fastq@1"
    assert anonymous.get("/api/projects/search", {"q": '"unclosed'}).status_code == 400


def test_reindexing_is_staff_only_locked_while_running_and_uploads_go_on(
    submitter: Any, anonymous: Any, make_actor: Any
) -> None:
    curator = make_actor(staff=True)
    publish(submitter, "before-1", "public")
    publish(submitter, "before-2", "public")
    SearchEntry.objects.all().delete()  # an index lost (or a new one to fill)
    assert search(anonymous, "*")["total"] == 0

    assert submitter.client.post("/api/index/build").status_code == 403

    # when a curator starts a re-indexing (its job not yet run)
    started = curator.client.post("/api/index/build")
    assert started.status_code == 202
    job_id = started.json()["job_id"]
    assert anonymous.get("/api/index/status").json()["state"] == "re-indexing"

    # then a second one is refused with the global lock of ArtifactDB
    again = curator.client.post("/api/index/build")
    assert again.status_code == 423
    assert again.json() == {
        "status": "error",
        "reason": "Project '__all_projects__' is locked: {'stage': 'index_all'}",
    }

    # and uploads go on meanwhile, their metadata searchable at once
    publish(submitter, "during-3", "public")
    assert samples(search(anonymous, "*")) == ["during-3"]

    # when the re-indexing runs, every document is back and the status is ok
    job = index_build_run(job_id=job_id)
    assert job is not None
    assert (job.status, job.result) == ("SUCCESS", {"indexed_documents": 3})
    status = anonymous.get("/api/index/status").json()
    assert (status["state"], status["documents"]) == ("ok", 3)
    assert samples(search(anonymous, "*")) == ["before-1", "before-2", "during-3"]
    assert index_build_run(job_id=job_id) is None  # runs once


@pytest.mark.django_db(transaction=True)
def test_uploads_complete_while_the_index_is_rebuilt(
    submitter: Any, anonymous: Any, make_actor: Any
) -> None:
    curator = make_actor(staff=True)
    for n in range(3):
        publish(submitter, f"before-{n}", "public")
    # given a re-indexing held mid-way: another transaction holds the index rows it rewrites
    holding, release = threading.Event(), threading.Event()

    def hold_index_rows() -> None:
        with transaction.atomic():
            list(SearchEntry.objects.select_for_update())
            holding.set()
            release.wait(30)
        connections.close_all()

    holder = threading.Thread(target=hold_index_rows)
    holder.start()
    assert holding.wait(10)
    build: dict[str, Any] = {}

    def rebuild() -> None:  # tasks run inline: the request runs the re-indexing
        build["response"] = curator.client.post("/api/index/build")
        connections.close_all()

    builder = threading.Thread(target=rebuild)
    builder.start()
    try:
        running = wait_until(
            lambda: (
                (state := IndexState.objects.filter(pk=1).first()) is not None
                and state.job_id is not None
                and Job.objects.get(pk=state.job_id).status == "STARTED"
                and state
            ),
            what="the re-indexing to run",
        )
        assert anonymous.get("/api/index/status").json()["state"] == "re-indexing"

        # when uploads complete meanwhile
        for n in range(2):
            publish(submitter, f"during-{n}", "public")

        # then they succeeded while the re-indexing is still running, and are searchable
        assert builder.is_alive()
        assert Job.objects.get(pk=running.job_id).status == "STARTED"
        assert samples(search(anonymous, "during")) == ["during-0", "during-1"]
    finally:
        release.set()
        holder.join(30)
        builder.join(30)

    # and the re-indexing finished once it could, with every document
    assert build["response"].status_code == 202
    status = anonymous.get("/api/index/status").json()
    assert (status["state"], status["documents"]) == ("ok", 5)
    assert search(anonymous, "*")["total"] == 5


@override_settings(PROJECT_INDEX_STALE_AFTER=timedelta(0))
def test_a_reindexing_that_stopped_responding_may_be_started_again(make_actor: Any) -> None:
    curator = make_actor(staff=True)
    first = curator.client.post("/api/index/build").json()["job_id"]
    second = curator.client.post("/api/index/build")
    assert second.status_code == 202
    assert curator.client.get(f"/api/jobs/{first}").json()["error"] == (
        "The re-indexing stopped responding."
    )
    # the first run, should it wake up, does nothing; the second one does the work
    assert index_build_run(job_id=first) is None
    assert index_build_run(job_id=second.json()["job_id"]).status == "SUCCESS"
