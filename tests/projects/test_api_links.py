"""Links: a new version refers to a file of an earlier one, found by ArtifactDB ID, by md5 (a
metadata field) or by sha256; nothing is copied or uploaded again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from filesharing import s3
from filesharing.models import File
from submissions.models import EntryFile
from tests.conftest import sha256_hex
from tests.factories import GroupFactory
from tests.projects.conftest import (
    complete,
    completed,
    error_code,
    job,
    md5_hex,
    put_all,
    start,
    started,
    uploaded_version,
)

pytestmark = pytest.mark.django_db

READS = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 40


def run_metadata(*, sample: str = "S1") -> bytes:
    return json.dumps(
        {
            "$schema": "sequencing_run/v1.json",
            "path": "reads.fastq",
            "sample": sample,
            "platform": "ILLUMINA",
            "md5sum": md5_hex(READS),
            "sha256": sha256_hex(READS),
        }
    ).encode()


@pytest.fixture
def project(submitter: Any) -> str:
    answer = uploaded_version(submitter, {"reads.fastq": READS, "reads.fastq.json": run_metadata()})
    return str(answer["project_id"])


def file_of(project: str, version: int, name: str) -> str:
    return str(
        EntryFile.objects.get(entry__accession=project, entry__version=version, name=name).file_id
    )


@pytest.mark.parametrize(
    "link",
    [
        {"check": "link", "value": {"artifactdb_id": "{project}:reads.fastq@1"}},
        {"check": "md5", "value": {"field": "md5sum", "md5sum": md5_hex(READS)}},
        {"check": "sha256", "value": sha256_hex(READS)},
        {"check": "sha256", "value": {"field": "sha256", "sha256": sha256_hex(READS)}},
    ],
    ids=["by-id", "by-md5-field", "by-sha256", "by-sha256-field"],
)
def test_link_refers_to_the_same_file_and_copies_no_bytes(
    submitter: Any, anonymous: Any, project: str, link: dict[str, Any]
) -> None:
    value = json.loads(json.dumps(link["value"]).replace("{project}", project))
    objects_before = s3.list_keys(prefix="files/")
    files_before = File.objects.filter(group=submitter.group).count()

    # given a new version whose data file is a link (as the seed writes it, wrapped)
    answer = started(
        submitter,
        ["reads.fastq.json", {"filenames": {"filename": "reads.fastq", **link, "value": value}}],
        path=f"/api/projects/{project}/upload",
    )
    assert list(answer["presigned_urls"]) == ["reads.fastq.json"]
    assert list(answer["links"]) == ["reads.fastq"]

    # when the client PUTs the link URL (no token: the URL is signed) and the new metadata
    linked = anonymous.put(answer["links"]["reads.fastq"])
    assert linked.status_code == 200, linked.content
    assert linked.json()["target"] == f"{project}:reads.fastq@2"
    put_all(answer, {"reads.fastq.json": run_metadata(sample="S1-recalled")})
    completed(submitter, answer)

    # then version 2 refers to the very file row of version 1
    assert file_of(project, 2, "reads.fastq") == file_of(project, 1, "reads.fastq")
    # and the only new file, and new object of the group in S3, is the new metadata file
    group_keys = {f.key for f in File.objects.filter(group=submitter.group)}
    new_objects = (set(s3.list_keys(prefix="files/")) - set(objects_before)) & group_keys
    assert new_objects == {f"files/{answer['file_ids']['reads.fastq.json']}"}
    assert File.objects.filter(group=submitter.group).count() == files_before + 1
    linked_key = f"files/{file_of(project, 1, 'reads.fastq')}"
    versions = s3.client().list_object_versions(Bucket=s3.bucket(), Prefix=linked_key)
    assert len(versions.get("Versions", [])) == 1  # the linked object was not written again
    document = submitter.client.get(f"/api/projects/{project}/version/2/metadata").json()[
        "results"
    ][0]
    assert document["sample"] == "S1-recalled"
    assert document["_extra"]["id"] == f"{project}:reads.fastq@2"
    assert document["_extra"]["file_id"] == file_of(project, 1, "reads.fastq")
    assert document["_extra"]["file_size"] == len(READS)


def test_a_link_never_created_fails_the_completion(submitter: Any, project: str) -> None:
    answer = started(
        submitter,
        [{"filename": "reads.fastq", "check": "link", "value": f"{project}:reads.fastq@1"}],
        path=f"/api/projects/{project}/upload",
    )
    failed = job(complete(submitter.client, answer).json()["job_id"])
    assert failed["status"] == "FAILURE"
    assert failed["error"] == (
        f"reads.fastq: the link to {project}:reads.fastq@1 was not created (PUT its links URL)"
    )


def test_links_to_what_does_not_exist_or_is_hidden_are_refused(
    submitter: Any, stranger: Any, project: str, make_actor: Any
) -> None:
    elsewhere = make_actor(group=GroupFactory())
    hidden = uploaded_version(
        elsewhere, {"reads.fastq": READS}, permissions={"read_access": "group"}
    )["project_id"]
    path = f"/api/projects/{project}/upload"
    cases = [
        (
            {"check": "link", "value": {"artifactdb_id": f"{project}:nothing.fastq@1"}},
            "link_target_not_found",
        ),
        (
            {"check": "link", "value": {"artifactdb_id": f"{hidden}:reads.fastq@1"}},
            "link_target_not_found",
        ),
        ({"check": "link", "value": {"artifactdb_id": "not an id"}}, "invalid_link"),
        (
            {"check": "md5", "value": {"field": "md5sum", "md5sum": "0" * 32}},
            "link_target_not_found",
        ),
        ({"check": "sha256", "value": "f" * 64}, "link_target_not_found"),
        (
            {"check": "link", "value": {"artifactdb_id": f"{project}:reads.fastq.json@1"}},
            "metadata_link_unsupported",
        ),
    ]
    for link, code in cases:
        response = start(submitter, [{"filename": "reads.fastq", **link}], path=path)
        assert response.status_code == 400, (link, response.content)
        assert error_code(response) == code, link
    # a checksum link looks only within the project: the hidden project's identical file is
    # not found from another project either
    other = uploaded_version(submitter, {"x.txt": b"x"})["project_id"]
    response = start(
        submitter,
        [{"filename": "reads.fastq", "check": "sha256", "value": sha256_hex(READS)}],
        path=f"/api/projects/{other}/upload",
    )
    assert error_code(response) == "link_target_not_found"


def test_link_url_cannot_be_used_for_another_link(
    submitter: Any, anonymous: Any, project: str
) -> None:
    answer = started(
        submitter,
        [
            {"filename": "reads.fastq", "check": "link", "value": f"{project}:reads.fastq@1"},
            {"filename": "copy.fastq", "check": "sha256", "value": sha256_hex(READS)},
        ],
        path=f"/api/projects/{project}/upload",
    )
    url, other = answer["links"]["reads.fastq"], answer["links"]["copy.fastq"]
    swapped = url.split("?")[0] + "?" + other.split("?")[1]
    assert anonymous.put(swapped).status_code == 403
    assert anonymous.put(url.split("?")[0]).status_code == 401
    assert anonymous.put(url).status_code == 200
    assert anonymous.put(url).status_code == 200  # idempotent


def test_another_groups_unreleased_file_cannot_be_linked_even_when_readable(
    submitter: Any, project: str, make_actor: Any
) -> None:
    from projects.models import UploadSession

    elsewhere = make_actor(group=GroupFactory())
    readable = uploaded_version(
        elsewhere, {"reads.fastq": READS}, permissions={"read_access": "public"}
    )["project_id"]
    # the other group's version is readable by anyone...
    assert submitter.client.get(f"/api/projects/{readable}/version/1/metadata").status_code == 200
    sessions = UploadSession.objects.count()
    for body in (
        {"check": "link", "value": {"artifactdb_id": f"{readable}:reads.fastq@1"}},
        {"check": "link", "value": f"{readable}:reads.fastq@1"},
    ):
        # ...but its unreleased file is not the submitter's to cite, in a new project or an
        # existing one; answered like a file that does not exist
        for path in ("/api/projects/upload", f"/api/projects/{project}/upload"):
            response = start(submitter, [{"filename": "reads.fastq", **body}], path=path)
            assert response.status_code == 400, response.content
            assert error_code(response) == "link_target_not_found"
    assert UploadSession.objects.count() == sessions
    theirs = file_of(readable, 1, "reads.fastq")
    assert not EntryFile.objects.filter(file_id=theirs).exclude(entry__accession=readable).exists()
