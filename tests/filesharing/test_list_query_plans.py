"""Every list query is served by an index and reads a bounded part of the files table:
PostgreSQL's own plans (EXPLAIN ANALYZE) over a seeded, analysed table. Sequential scans are
priced out (`enable_seqscan = off`), so a query that no index serves still shows one, and a
query that an index serves only by walking all of it reads most of the table's rows: both fail
(the old listing, with its membership join and DISTINCT, is shown to fail below)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import token_create
from filesharing.models import File
from groups.models import Membership
from tests.factories import UserFactory

FILES_TABLE = File._meta.db_table
SEEDED_FILES = 20_000
# A listing reads at most this share of the table here (a member sees its group's files, a
# twentieth, and the released fifth; the count stops at API_COUNT_LIMIT rows).
MAX_SHARE_READ = 0.4


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Seeded once for the module, committed, and removed afterwards."""
    with django_db_blocker.unblock():
        call_command("seed_large_database", files=SEEDED_FILES, groups=20, users=200, entries=2000)
        yield
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE filesharing_file, submissions_entryfile, submissions_processeddata, "
                "submissions_sequenceentry, submissions_accession, groups_membership, "
                "groups_group, auth_user CASCADE"
            )


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).raw}")
    return client


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _explain(sql: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        raw = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    document = json.loads(raw) if isinstance(raw, str) else raw
    return list(_nodes(document[0]["Plan"]))


def _file_queries(client: APIClient, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and f'"{FILES_TABLE}"' in query["sql"]
    ]


def _assert_indexed(sql: str) -> None:
    on_files = [
        node
        for node in _explain(sql)
        if node.get("Relation Name") == FILES_TABLE and node["Node Type"] != "ModifyTable"
    ]
    scans = {node["Node Type"] for node in on_files}
    assert "Seq Scan" not in scans, f"sequential scan of the files table in:\n{sql}"
    assert on_files and scans <= {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scans
    read = sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        for node in on_files
    )
    assert read <= MAX_SHARE_READ * SEEDED_FILES, f"{read} file rows read by:\n{sql}"


@pytest.fixture
def member(seeded: None, db: None) -> APIClient:
    """A seeded user of one group (its files are about a thousandth of the table)."""
    membership = Membership.objects.order_by("pk").first()
    assert membership is not None
    return _client(membership.user)


@pytest.mark.parametrize(
    "url",
    [
        "/api/files/",
        "/api/files/?released=true",
        "/api/files/?released=false",
        "/api/files/?all_versions=true",
        "/api/files/?status=verified",
        "/api/files/?orphaned=true",
        "/api/files/?page=3",
        "/api/entries/",
    ],
)
def test_a_members_list_queries_use_indexes(member: APIClient, url: str) -> None:
    """Each query of the answer: the page, the bounded count, the prefetches."""
    queries = _file_queries(member, url)

    assert queries, "the listing read no files"
    for sql in queries:
        assert "DISTINCT" not in sql
        _assert_indexed(sql)


def test_a_group_listing_uses_an_index(member: APIClient) -> None:
    group_id = Membership.objects.order_by("pk").values_list("group_id", flat=True)[0]

    for sql in _file_queries(member, f"/api/files/?group={group_id}"):
        _assert_indexed(sql)


def test_curators_list_with_indexes(seeded: None, db: None) -> None:
    curator = _client(UserFactory(is_staff=True, is_superuser=True))

    for url in ["/api/files/", "/api/files/?orphaned=true", "/api/files/?released=true"]:
        for sql in _file_queries(curator, url):
            _assert_indexed(sql)


def test_the_count_stops_at_its_bound(member: APIClient, settings: Any) -> None:
    settings.API_COUNT_LIMIT = 150

    first = member.get("/api/files/?page_size=20").json()
    deep = member.get("/api/files/?page_size=100&page=3").json()

    # The member sees its group's files and every released one: thousands here.
    assert (first["count"], first["countExact"]) == (150, False)
    assert len(first["results"]) == 20 and first["next"]
    assert deep["count"] >= 300 and deep["countExact"] is False
    assert member.get("/api/files/?page=100000").status_code == 404


def test_an_old_style_listing_would_fail_the_check(member: APIClient) -> None:
    """The check itself can fail: the membership join with DISTINCT scans the whole table."""
    user_id = Membership.objects.order_by("pk").values_list("user_id", flat=True)[0]
    files = (
        File.objects.filter(Q(group__memberships__user_id=user_id) | Q(released_at__isnull=False))
        .distinct()
        .order_by("-upload_requested_at", "name", "-version")
    )
    compiled, params = files[:100].query.sql_with_params()
    sql = connection.ops.compose_sql(compiled, params)

    with pytest.raises(AssertionError):
        _assert_indexed(sql)


def test_request_uploads_looks_versions_and_digests_up_through_indexes(
    member: APIClient, seeded: None
) -> None:
    """The dedup lookup, the version numbers and the superseding of old versions, for a
    hundred files of which one has the content of a verified file and one a taken name."""
    membership = Membership.objects.order_by("pk").first()
    assert membership is not None
    verified = (
        File.objects.filter(group_id=membership.group_id, status=File.Status.VERIFIED)
        .exclude(sha256="")
        .order_by("pk")
        .first()
    )
    taken = File.objects.filter(group_id=membership.group_id, is_latest=True).exclude(name="")
    taken_name = taken.exclude(pk=getattr(verified, "pk", None)).order_by("pk").first()
    assert verified is not None and taken_name is not None
    files = [
        {"name": f"new_{i}.fastq.gz", "size": 100 + i, "sha256": f"{i:064x}"} for i in range(98)
    ]
    files.append({"name": "same_content.bam", "size": verified.size, "sha256": verified.sha256})
    files.append({"name": taken_name.name, "size": 5, "sha256": "f" * 64})

    with CaptureQueriesContext(connection) as captured:
        response = member.post(
            "/api/files/request-uploads",
            {"groupId": membership.group_id, "files": files},
            format="json",
        )

    assert response.status_code == 200, response.content[:300]
    answer = response.json()
    assert answer[98]["fileId"] == str(verified.pk) and answer[98]["deduplicated"] is True
    assert answer[99]["version"] == taken_name.version + 1
    on_files = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith(("SELECT", "UPDATE")) and FILES_TABLE in query["sql"]
    ]
    assert any("sha256 = ANY" in sql for sql in on_files), on_files
    assert any(sql.startswith("UPDATE") for sql in on_files), on_files
    for sql in on_files:
        _assert_indexed(sql)
    taken_name.refresh_from_db()
    assert taken_name.is_latest is False
