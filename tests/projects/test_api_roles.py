"""Roles (creator, uploader), the internal signed URL that promotes a creator for one request,
and the data-level permissions of versions (read_access public, group, owners; write_access)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from projects.credentials import PARAMETER, promotion_create
from projects.models import Project, UploadPromotion
from tests.factories import GroupFactory
from tests.projects.conftest import (
    REPORT,
    error_code,
    report_metadata,
    start,
    started,
    uploaded_version,
)

pytestmark = pytest.mark.django_db

FILES = {"report.txt": REPORT, "report.txt.json": report_metadata()}


def test_creator_must_be_a_member_of_the_group_named(submitter: Any, stranger: Any) -> None:
    response = start(stranger, ["a"], group=str(submitter.group.pk))
    assert response.status_code == 404
    assert error_code(response) == "group_not_found"
    # by name too, and the caller's only group by default
    assert started(submitter, ["a"], group=submitter.group.name)["version"] == "1"
    assert not Project.objects.filter(group=stranger.group).exists()


def test_naming_another_group_reveals_neither_its_existence_nor_its_id(
    submitter: Any, stranger: Any
) -> None:
    answers = {
        reference: start(stranger, ["a"], group=reference).json()["error"]
        for reference in (submitter.group.name, "No Such Lab", str(submitter.group.pk), "999999")
    }
    for reference, error in answers.items():
        assert error["code"] == "group_not_found"
        assert error["message"] == f"No group {reference}."
        assert str(submitter.group.pk) not in str(error) or reference == str(submitter.group.pk)
    assert not Project.objects.exists()


def test_an_uploader_may_create_projects_for_any_group(submitter: Any, uploader: Any) -> None:
    answer = started(uploader, ["a"], group=submitter.group.name)
    assert Project.objects.get(accession=answer["project_id"]).group == submitter.group
    # but without a group to name, there is none to default to
    assert error_code(start(uploader, ["a"])) == "group_required"


def test_fully_qualified_endpoint_needs_the_uploader_role(submitter: Any, uploader: Any) -> None:
    # a creator may not choose the project ID
    refused = start(submitter, ["a"], path="/api/projects/PRJ000001/version/1/upload")
    assert refused.status_code == 403
    assert error_code(refused) == "not_uploader"

    # an uploader may, naming the group of a new project
    answer = started(
        uploader, ["a"], path="/api/projects/PRJ000001/version/3/upload", group=submitter.group.name
    )
    assert (answer["project_id"], answer["version"]) == ("PRJ000001", "3")
    assert Project.objects.get(accession="PRJ000001").group == submitter.group

    # IDs of the instance's own sequence are refused, as is a new project without a group
    for path, body, code in [
        (
            "/api/projects/SV_000777/version/1/upload",
            {"group": submitter.group.name},
            "reserved_project_id",
        ),
        ("/api/projects/PRJ000002/version/1/upload", {}, "group_required"),
        (
            "/api/projects/bad-id!/version/1/upload",
            {"group": submitter.group.name},
            "invalid_project_id",
        ),
    ]:
        response = start(uploader, ["a"], path=path, **body)
        assert error_code(response) == code, path


def test_promoted_url_is_refused_for_another_project_and_a_second_time(
    submitter: Any, uploader: Any
) -> None:
    # given the internal signed URL made when a creator's project version was provisioned
    first = started(submitter, ["a"])
    promotion = UploadPromotion.objects.get(accession=first["project_id"], version=1)
    assert promotion.used_at is not None  # it served the provisioning request, once

    # and a fresh promotion for another version of the creator's project
    token = promotion_create(accession=first["project_id"], version=2, user=submitter.user)
    query = urlencode({PARAMETER: token})

    # when it is used for another project, or another version
    for path in (
        "/api/projects/PRJ999999/version/2/upload",
        f"/api/projects/{first['project_id']}/version/5/upload",
    ):
        response = start(submitter, ["a"], path=f"{path}?{query}", group=submitter.group.name)
        # then it is refused
        assert response.status_code == 403, path
        assert error_code(response) == "invalid_credential"

    # when another user presents it
    other = start(
        uploader, ["a"], path=f"/api/projects/{first['project_id']}/version/2/upload?{query}"
    )
    assert other.status_code == 403

    # when the first upload is done and the promoted URL is used for its version, twice
    assert submitter.client.put(first["abort_url"]).status_code == 200
    path = f"/api/projects/{first['project_id']}/version/2/upload?{query}"
    assert start(submitter, ["a"], path=path).status_code == 200
    submitter.client.put(
        f"/api/projects/{first['project_id']}/version/2/abort",
    )
    again = start(submitter, ["a"], path=path)
    assert again.status_code == 403
    assert "already used" in again.json()["error"]["message"]

    # and a forged one is refused
    forged = start(
        submitter,
        ["a"],
        path=f"/api/projects/{first['project_id']}/version/2/upload?"
        + urlencode({PARAMETER: token[:-2] + "xx"}),
    )
    assert forged.status_code == 403


def test_read_access_public_group_and_owners(
    submitter: Any, stranger: Any, anonymous: Any, make_actor: Any
) -> None:
    colleague = make_actor(group=submitter.group, role="member")
    outsider_owner = make_actor(group=GroupFactory())
    versions = {}
    for read_access in ("public", "group", "owners"):
        answer = uploaded_version(
            submitter,
            FILES,
            permissions={
                "read_access": read_access,
                "scope": "version",
                "owners": [submitter.user.username, outsider_owner.user.username],
            },
        )
        versions[read_access] = f"/api/projects/{answer['project_id']}/version/1/metadata"

    def sees(client: Any) -> dict[str, int]:
        return {access: client.get(url).status_code for access, url in versions.items()}

    assert sees(anonymous) == {"public": 200, "group": 404, "owners": 404}
    assert sees(stranger.client) == {"public": 200, "group": 404, "owners": 404}
    assert sees(colleague.client) == {"public": 200, "group": 200, "owners": 404}
    assert sees(outsider_owner.client) == {"public": 200, "group": 200, "owners": 200}
    assert sees(submitter.client) == {"public": 200, "group": 200, "owners": 200}
    hidden = anonymous.get(versions["group"])
    assert hidden.json() == {"status": "error", "reason": "No such project/version"}


def test_new_versions_follow_write_access(submitter: Any, stranger: Any, make_actor: Any) -> None:
    colleague = make_actor(group=submitter.group, role="member")
    project = uploaded_version(submitter, FILES, permissions={"read_access": "public"})[
        "project_id"
    ]
    path = f"/api/projects/{project}/upload"

    # write_access group (the default): any member adds a version; a reader from elsewhere not
    answer = started(colleague, ["b"], path=path)
    assert answer["version"] == "2"
    assert colleague.client.put(answer["abort_url"]).status_code == 200
    refused = start(stranger, ["b"], path=path)
    assert refused.status_code == 403
    assert error_code(refused) == "not_allowed"

    # write_access owners: only the owners
    uploaded_version(
        submitter,
        FILES,
        path=path,
        permissions={"write_access": "owners", "read_access": "group", "scope": "project"},
    )
    assert start(colleague, ["c"], path=path).status_code == 403
    # the project is no longer public (scope project applies to every version): hidden
    assert start(stranger, ["c"], path=path).status_code == 404
    assert started(submitter, ["c"], path=path)["version"] == "3"  # 2 was aborted, then reused


def test_completion_needs_the_signed_url_or_the_uploader(submitter: Any, stranger: Any) -> None:
    answer = started(submitter, ["a"])
    bare = answer["completion_url"].split("?")[0]
    # a stranger without the credential does not see the upload
    assert stranger.client.put(bare, {}, format="json").status_code == 404
    # a tampered credential is refused
    tampered = answer["completion_url"][:-3] + "abc"
    assert stranger.client.put(tampered, {}, format="json").status_code == 403
    # the abort credential does not complete
    abort_credential = answer["abort_url"].split(f"{PARAMETER}=")[1]
    assert (
        stranger.client.put(f"{bare}?{PARAMETER}={abort_credential}", {}, format="json").status_code
        == 403
    )
    # bad permissions are refused before anything starts
    response = submitter.client.put(
        answer["completion_url"], {"read_access": "everyone"}, format="json"
    )
    assert error_code(response) == "invalid_permissions"
    response = submitter.client.put(
        answer["completion_url"], {"owners": "nobody-here"}, format="json"
    )
    assert error_code(response) == "unknown_owner"
    wrong = answer["completion_url"].replace("revision=NUM-1", "revision=NUM-7")
    assert error_code(submitter.client.put(wrong, {}, format="json")) == "revision_mismatch"
