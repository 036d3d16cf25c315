"""Who may do what, for every operation of the OpenAPI document: each operation is called as
each kind of caller, on objects in each state that matters, and the answer's class (passes
authorization, 401, 403, or 404 as if missing) must be the one expected here. An operation in
the document without an expectation fails the suite, so no endpoint can be left out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from core.services import job_create
from filesharing.models import File
from groups.models import Membership
from groups.services import group_invitation_send, user_grant_pipeline_role
from tests.factories import FileFactory, GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "other_group", "member", "group_admin", "pipeline", "curator")
PASS, HIDDEN, UNAUTHENTICATED, FORBIDDEN = "pass", "404", "401", "403"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def outcome(status: int) -> str:
    """Authorization passed unless the answer is 401, 403 or 404 (validation answers 400,
    conflicts 409 and the like come after it)."""
    return {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: HIDDEN}.get(status, PASS)


def everyone(result: str) -> dict[str, str]:
    return {role: result for role in ROLES[1:]}


def roles(default: str, **overrides: str) -> dict[str, str]:
    return {**everyone(default), **overrides}


SIGNED_IN = everyone(PASS)
GROUP_READERS = roles(PASS, other_group=HIDDEN)  # members, admins, pipeline, curators
# Unknown or fake objects: nobody finds them, signed in or not.
NOBODY = everyone(HIDDEN)


@dataclass
class Expectation:
    by_role: dict[str, str]
    body: Callable[[Any], Any] | None = None
    # Public operations answer anonymous callers like this (default: 401).
    anonymous: str = UNAUTHENTICATED
    states: tuple[str, ...] = ("private",)
    released: dict[str, str] | None = None  # by_role in state "released", if different
    format: str = "json"
    query: str = ""  # appended to the path
    # Authorized by a signed URL's credential (not a security scheme): anonymous callers
    # without one are refused, though the document rightly declares no scheme.
    signed_url: bool = False
    # Anonymous callers on released objects, where they differ from `anonymous`.
    released_anonymous: str | None = None


EXPECTATIONS: dict[str, Expectation] = {
    "GET /api/health/": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/jobs/{job_id}": Expectation(SIGNED_IN, anonymous=PASS),
    "DELETE /api/jobs/{job_id}": Expectation(roles(HIDDEN, group_admin=PASS, curator=PASS)),
    "GET /api/tokens/": Expectation(SIGNED_IN),
    "POST /api/tokens/": Expectation(SIGNED_IN, body=lambda w: {"name": "x"}),
    # The token belongs to the group's member: only they may revoke it.
    "DELETE /api/tokens/{token_id}/": Expectation(roles(HIDDEN, member=PASS)),
    "GET /api/groups/": Expectation(SIGNED_IN),
    "POST /api/groups/": Expectation(SIGNED_IN, body=lambda w: {"name": f"New {uuid.uuid4()}"}),
    "GET /api/groups/{group_id}/": Expectation(GROUP_READERS),
    "PATCH /api/groups/{group_id}/": Expectation(
        roles(FORBIDDEN, other_group=HIDDEN, curator=PASS), body=lambda w: {"quota_bytes": 10}
    ),
    "POST /api/groups/{group_id}/members/": Expectation(
        roles(FORBIDDEN, other_group=HIDDEN, group_admin=PASS, curator=PASS),
        body=lambda w: {"username": w.users["other_group"].username},
    ),
    "DELETE /api/groups/{group_id}/members/{username}/": Expectation(
        roles(FORBIDDEN, other_group=HIDDEN, group_admin=PASS, curator=PASS)
    ),
    "GET /api/groups/{group_id}/invitations/": Expectation(
        roles(FORBIDDEN, other_group=HIDDEN, group_admin=PASS, curator=PASS)
    ),
    "DELETE /api/groups/{group_id}/invitations/{invitation_id}": Expectation(
        roles(FORBIDDEN, other_group=HIDDEN, group_admin=PASS, curator=PASS)
    ),
    # Everyone's own invitations; the world's one invites the other group's admin, and only
    # they may answer it: for everyone else it is as missing as an unknown one.
    "GET /api/invitations/": Expectation(SIGNED_IN),
    "POST /api/invitations/{invitation_id}/accept": Expectation(roles(HIDDEN, other_group=PASS)),
    "POST /api/invitations/{invitation_id}/decline": Expectation(roles(HIDDEN, other_group=PASS)),
    "POST /api/files/request-uploads": Expectation(
        GROUP_READERS, body=lambda w: {"groupId": w.group.pk, "numberFiles": 1}
    ),
    "GET /api/files/": Expectation(SIGNED_IN),
    "GET /api/files/{file_id}/": Expectation(
        GROUP_READERS, states=("private", "released"), released=SIGNED_IN
    ),
    "DELETE /api/files/{file_id}/": Expectation(GROUP_READERS | {"pipeline": FORBIDDEN}),
    "POST /api/files/{file_id}/confirm": Expectation(GROUP_READERS),
    "GET /api/files/{file_id}/download": Expectation(
        GROUP_READERS, anonymous=HIDDEN, states=("private", "released"), released=SIGNED_IN
    ),
    "GET /api/files/{file_id}/multipart_uploads": Expectation(GROUP_READERS),
    "POST /api/files/{file_id}/multipart_uploads": Expectation(GROUP_READERS, body=lambda w: {}),
    "GET /api/multipart_uploads/{upload_id}/": Expectation(NOBODY),
    "PATCH /api/multipart_uploads/{upload_id}/": Expectation(
        NOBODY, body=lambda w: {"status": "cancelled"}
    ),
    "POST /api/multipart_uploads/{upload_id}/part/{part_no}/presigned_post": Expectation(
        NOBODY, body=lambda w: {}
    ),
    "GET /api/multipart_uploads/{upload_id}/parts": Expectation(NOBODY),
    "POST /api/multipart_uploads/{upload_id}/parts": Expectation(
        NOBODY, body=lambda w: {"parts": [{"partNumber": 1}]}
    ),
    "POST /api/submit": Expectation(SIGNED_IN, body=lambda w: {}, format="multipart"),
    "POST /api/revise": Expectation(SIGNED_IN, body=lambda w: {}, format="multipart"),
    "POST /api/revoke": Expectation(SIGNED_IN, body=lambda w: {"accessions": []}),
    "POST /api/approve": Expectation(SIGNED_IN, body=lambda w: {}),
    "GET /api/entries/": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/entries/{accession_version}/": Expectation(NOBODY, anonymous=HIDDEN),
    "GET /api/organisms/": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/released-data": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/pipeline/unprocessed": Expectation(
        roles(FORBIDDEN, pipeline=PASS), query="?numberOfEntries=1&pipelineVersion=1"
    ),
    "POST /api/pipeline/processed": Expectation(
        roles(FORBIDDEN, pipeline=PASS),
        body=lambda w: '{"accessionVersion": "SV_999999.1", "data": {}}\n',
        format="ndjson",
        query="?pipelineVersion=1",
    ),
    "GET /api/pipeline/versions": Expectation(SIGNED_IN),
    "POST /api/projects/upload": Expectation(
        GROUP_READERS | {"pipeline": HIDDEN},
        body=lambda w: {"filenames": ["a.txt"], "group": str(w.group.pk)},
    ),
    "POST /api/projects/{project_id}/upload": Expectation(
        NOBODY, body=lambda w: {"filenames": ["a.txt"]}
    ),
    "POST /api/projects/{project_id}/version/{version}/upload": Expectation(
        roles(FORBIDDEN, curator=PASS), body=lambda w: {"filenames": ["a.txt"]}
    ),
    "PUT /api/projects/{project_id}/version/{version}/complete": Expectation(
        NOBODY, body=lambda w: {}, signed_url=True
    ),
    "PUT /api/projects/{project_id}/version/{version}/abort": Expectation(
        NOBODY, body=lambda w: {}, signed_url=True
    ),
    "GET /api/projects/{project_id}/version/{version}/metadata": Expectation(
        NOBODY, anonymous=HIDDEN
    ),
    "GET /api/projects/{project_id}/versions": Expectation(NOBODY, anonymous=HIDDEN),
    "GET /api/projects/search": Expectation(SIGNED_IN, anonymous=PASS),
    "PUT /api/link/{source}/to/{target}": Expectation(NOBODY, body=lambda w: {}, signed_url=True),
    "POST /api/index/build": Expectation(roles(FORBIDDEN, curator=PASS)),
    "GET /api/index/status": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/schemas": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/schemas/{schema_id}": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /api/capabilities": Expectation(SIGNED_IN, anonymous=PASS),
    # A batch: the request passes, and each file the caller may not see is refused in it
    # exactly as a missing one (`not_found`).
    "POST /api/files/confirm": Expectation(
        SIGNED_IN, body=lambda w: {"fileIds": [str(w.files["private"].pk)]}
    ),
    # GA4GH DRS: the same visibility as the files API; released objects open to all.
    "GET /ga4gh/drs/v1/service-info": Expectation(SIGNED_IN, anonymous=PASS),
    "GET /ga4gh/drs/v1/objects/{object_id}": Expectation(
        GROUP_READERS,
        states=("private", "released"),
        released=SIGNED_IN,
        released_anonymous=PASS,
    ),
    "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}": Expectation(
        GROUP_READERS,
        states=("private", "released"),
        released=SIGNED_IN,
        released_anonymous=PASS,
    ),
    # Loculus's file API: uploads for the caller's groups (the pipeline for any group).
    "POST /loculus/files/request-upload": Expectation(
        GROUP_READERS, query="?groupId={group_id}&numberFiles=1"
    ),
    "POST /loculus/files/request-multipart-upload": Expectation(
        GROUP_READERS, query="?groupId={group_id}&numberFiles=1&numberParts=1"
    ),
    # Unknown and hidden file IDs are refused alike (422, as Loculus answers them).
    "POST /loculus/files/complete-multipart-upload": Expectation(
        SIGNED_IN, body=lambda w: [{"fileId": str(uuid.uuid4()), "etags": ["x"]}]
    ),
    # An unknown entry version: hidden from everyone; released ones are open to all.
    "GET /loculus/files/get/{accession}/{version}/{category}/{name}": Expectation(
        NOBODY, anonymous=UNAUTHENTICATED, released_anonymous=PASS
    ),
}


def _operations() -> list[str]:
    client = APIClient()
    paths = client.get("/api/schema/?format=json").json()["paths"]
    return sorted(f"{method.upper()} {path}" for path, ops in paths.items() for method in ops)


@dataclass
class World:
    group: Any
    users: dict[str, Any]
    clients: dict[str, APIClient]
    files: dict[str, File]
    job_id: str
    member_token_id: int
    invitation_id: str

    def path(self, template: str, state: str) -> str:
        values = {
            "group_id": str(self.group.pk),
            "username": self.users["member"].username,
            "file_id": str(self.files[state].pk),
            "job_id": self.job_id,
            "token_id": str(self.member_token_id),
            "invitation_id": self.invitation_id,
            "upload_id": str(uuid.uuid4()),
            "part_no": "1",
            "accession_version": "SV_999999.1",
            "project_id": "SV_999999",
            "version": "1",
            "schema_id": "sequencing_run/v1.json",
            "source": "c291cmNl",
            "target": "U1ZfOTk5OTk5OmEudHh0QDE",
            "object_id": str(self.files[state].pk),
            "access_id": "https",
            "accession": "SV_999999",
            "category": "raw_reads",
            "name": "run1.fastq",
        }
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template


@pytest.fixture
def world(db: None) -> World:
    group, elsewhere = GroupFactory(), GroupFactory()
    users = {
        "other_group": UserFactory(),
        "member": UserFactory(),
        "group_admin": UserFactory(),
        "pipeline": UserFactory(),
        "curator": UserFactory(is_staff=True),
    }
    MembershipFactory(group=elsewhere, user=users["other_group"], role=Membership.Role.ADMIN)
    MembershipFactory(group=group, user=users["member"], role=Membership.Role.MEMBER)
    MembershipFactory(group=group, user=users["group_admin"], role=Membership.Role.ADMIN)
    user_grant_pipeline_role(actor=None, user=users["pipeline"])
    clients = {"anonymous": APIClient()}
    tokens = {}
    for role, user in users.items():
        issued = token_create(user=user)
        tokens[role] = issued.token.pk
        clients[role] = APIClient()
        clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    now = timezone.now()
    files = {
        state: FileFactory(
            group=group,
            uploader=users["member"],
            status=File.Status.VERIFIED,
            size=4,
            declared_size=4,
            sha256=SHA,
            verified_at=now,
            released_at=now if state == "released" else None,
        )
        for state in ("private", "released")
    }
    job = job_create(kind="example", actor=users["group_admin"])
    invitation = group_invitation_send(
        actor=users["group_admin"],
        group=group,
        username=users["other_group"].username,
        role=Membership.Role.MEMBER,
    )
    return World(group, users, clients, files, str(job.pk), tokens["member"], str(invitation.pk))


def test_every_operation_in_the_document_has_an_expectation() -> None:
    operations = _operations()
    missing = [op for op in operations if op not in EXPECTATIONS]
    assert missing == [], f"Say who may call these operations: {missing}"
    stale = [op for op in EXPECTATIONS if op not in operations]
    assert stale == [], f"Expectations for operations no longer in the document: {stale}"


def test_operations_without_anonymous_access_declare_a_security_requirement() -> None:
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    for operation, expectation in EXPECTATIONS.items():
        method, path = operation.split(" ", 1)
        security = paths[path][method.lower()].get("security", [])
        open_when_released = expectation.released_anonymous == PASS
        if expectation.anonymous == UNAUTHENTICATED and not (
            expectation.signed_url or open_when_released
        ):
            assert {} not in security, operation
            assert {"bearerAuth": []} in security, operation


def _call(client: APIClient, method: str, path: str, expectation: Expectation, world: World) -> int:
    body = expectation.body(world) if expectation.body else None
    kwargs: dict[str, Any] = {}
    if body is not None and expectation.format == "ndjson":
        kwargs = {"data": body, "content_type": "application/x-ndjson"}
    elif body is not None:
        kwargs = {"data": body, "format": expectation.format}
    # Each call in its own savepoint, rolled back: what one caller changes, the next does not see.
    with transaction.atomic():
        response = getattr(client, method.lower())(path, **kwargs)
        transaction.set_rollback(True)
    assert response.status_code < 500, (method, path, response.content)
    return int(response.status_code)


@pytest.mark.parametrize("operation", sorted(EXPECTATIONS))
def test_each_caller_gets_the_expected_answer(operation: str, world: World) -> None:
    expectation = EXPECTATIONS[operation]
    method, template = operation.split(" ", 1)
    mismatches = []
    for state in expectation.states:
        expected = {
            "anonymous": expectation.anonymous,
            **(expectation.released if state == "released" and expectation.released else {}),
        }
        expected = {**expectation.by_role, **expected}
        if state == "released" and expectation.released:
            expected = {**expectation.released, "anonymous": expectation.anonymous}
            if method == "GET" and "download" in template:
                expected["anonymous"] = PASS
            if expectation.released_anonymous is not None:
                expected["anonymous"] = expectation.released_anonymous
        for role in ROLES:
            status = _call(
                world.clients[role],
                method,
                world.path(template + expectation.query, state),
                expectation,
                world,
            )
            if outcome(status) != expected[role]:
                mismatches.append(f"{role} on {state}: {status}, expected {expected[role]}")
    assert mismatches == [], f"{operation}: " + "; ".join(mismatches)
