"""The sweep of object versions that no file owns (filesharing.services.stray_versions): every
verified file's key, a bounded slice of the bucket per run, going on where the last run
stopped. Each test has a bucket of its own (versioned, as setup_bucket makes every bucket), so
that what is listed is what the test put there; marked `rgw`, they run on Ceph RGW as well."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, StrayVersionSweep
from filesharing.services.stray_versions import files_sweep_stray_versions
from tests.conftest import upload_file
from tests.projects.conftest import REPORT, report_metadata, uploaded_version
from tests.rgw.conftest import released

pytestmark = [pytest.mark.rgw, pytest.mark.django_db]
DATA = b"@read1\nACGTACGT\n+\nIIIIIIII\n"
OTHER = b"@read1\nTTTTTTTT\n+\nIIIIIIII\n"


@pytest.fixture
def own_bucket(settings: Any) -> Iterator[str]:
    name = f"seqvault-sweep-{uuid.uuid4().hex[:12]}"
    storages = copy.deepcopy(settings.STORAGES)
    storages["files"]["OPTIONS"]["bucket_name"] = name
    settings.STORAGES = storages
    s3.bucket_setup(web_origins=["http://127.0.0.1:8000"])  # RGW refuses a CORS rule of none
    yield name
    client = s3.client()
    for page in s3.list_object_versions(prefix=""):
        for version in page:
            client.delete_object(Bucket=name, Key=version.key, VersionId=version.version_id)
    client.delete_bucket(Bucket=name)


def reads(name: str) -> bytes:
    """Bytes of their own for each file (the group's identical bytes would be reused)."""
    return DATA + name.encode() + b"\n"


def versions_of(file_id: str) -> list[str]:
    key = f"files/{file_id}"
    return sorted(
        version.version_id
        for page in s3.list_object_versions(prefix=key)
        for version in page
        if version.key == key
    )


def write_again(file_id: str, data: bytes = OTHER) -> str:
    """Another version under the file's key, as a store that ignores If-None-Match lets a
    still-valid upload URL write (seqvault's own client stands in for it here)."""
    answer = s3.client().put_object(Bucket=s3.bucket(), Key=f"files/{file_id}", Body=data)
    return str(answer["VersionId"])


def urls_long_expired(file_id: str) -> None:
    """As if the file was requested, and its deadline passed, a day ago."""
    day_ago = timezone.now() - timedelta(days=1)
    File.objects.filter(pk=file_id).update(
        upload_requested_at=day_ago - timedelta(days=1), upload_deadline=day_ago
    )


def verified_version(file_id: str) -> str:
    return File.objects.get(pk=file_id).s3_version_id


def test_every_verified_files_key_keeps_only_its_verified_version(
    own_bucket: str, submitter: Any, anonymous: Any
) -> None:
    # given a released file whose upload URL is still valid, and a second version under its key
    released_id = upload_file(submitter, reads("released"), name="released.fq")["fileId"]
    released(released_id)
    write_again(released_id)
    # and a file attached nowhere whose URLs expired long ago: a second version, a delete marker
    quiet_id = upload_file(submitter, reads("quiet"), name="quiet.fq")["fileId"]
    urls_long_expired(quiet_id)
    write_again(quiet_id)
    s3.client().delete_object(Bucket=own_bucket, Key=f"files/{quiet_id}")
    # and a project session's file whose PUT URL was used again after the session completed
    answer = uploaded_version(
        submitter, {"report.txt": REPORT, "report.txt.json": report_metadata()}
    )
    session_id = answer["file_ids"]["report.txt"]
    again = requests.put(answer["presigned_urls"]["report.txt"], data=b"x" * 9, timeout=30)
    assert again.status_code == 200  # session URLs may be used again until the deadline
    urls_long_expired(session_id)
    # and a file attached nowhere whose upload URL may still be writing (its deadline is ahead)
    writable_id = upload_file(submitter, reads("writable"), name="writable.fq")["fileId"]
    write_again(writable_id)
    # and a file not verified: its key is the verifier's business
    [ticket] = submitter.client.post(
        "/api/files/request-uploads",
        {"groupId": submitter.group.pk, "files": [{"name": "requested.fq"}]},
        format="json",
    ).json()
    requested_id = ticket["fileId"]
    write_again(requested_id, DATA)
    write_again(requested_id)
    before = {file_id: versions_of(file_id) for file_id in (writable_id, requested_id)}

    # when the sweep runs
    report = files_sweep_stray_versions()

    # then each settled verified file's key holds its verified version alone
    for file_id in (released_id, quiet_id, session_id):
        assert versions_of(file_id) == [verified_version(file_id)], file_id
    assert sorted(item.split(":")[0] for item in report.removed) == sorted(
        [released_id, quiet_id, quiet_id, session_id]
    )
    assert report.refused == []
    # and what an upload may still be writing, or what no verified file owns, stays
    assert {file_id: versions_of(file_id) for file_id in before} == before
    # and each removal is on record, naming what went and what was kept
    events = {
        event.object_id: event.details
        for event in AuditEvent.objects.filter(action="file.stray_versions_removed")
    }
    assert set(events) == {released_id, quiet_id, session_id}
    for file_id, details in events.items():
        assert details["keptVersionId"] == verified_version(file_id)
        assert {f"{file_id}:{version}" for version in details["versionIds"]} <= set(report.removed)
    assert len(events[quiet_id]["versionIds"]) == 2  # the other version and the delete marker
    # and the released file is served as it was verified
    redirect = anonymous.get(f"/api/files/{released_id}/download")
    assert requests.get(redirect["Location"], timeout=30).content == reads("released")

    # when it runs again, nothing is left to remove and nothing more is recorded
    again_report = files_sweep_stray_versions()
    assert again_report.removed == []
    assert AuditEvent.objects.filter(action="file.stray_versions_removed").count() == 3


def test_each_run_lists_a_bounded_slice_and_the_next_goes_on_from_there(
    own_bucket: str, submitter: Any, settings: Any
) -> None:
    # given four settled files, each with a second version: eight versions over four keys
    uploaded = [upload_file(submitter, reads(f"r{n}"), name=f"r{n}.fq") for n in range(4)]
    file_ids = sorted(file["fileId"] for file in uploaded)
    for file_id in file_ids:
        urls_long_expired(file_id)
        write_again(file_id)
    # and a sweep that lists one page of three versions per run
    settings.STRAY_VERSION_SWEEP_PAGES = 1
    settings.STRAY_VERSION_SWEEP_PAGE_SIZE = 3
    listings: list[dict[str, Any]] = []
    events = s3.client().meta.events

    def count(params: dict[str, Any], **_: Any) -> None:
        listings.append(params)

    events.register("provide-client-params.s3.ListObjectVersions", count)
    try:
        # when it runs until a pass of the bucket is complete
        runs = []
        for _ in range(10):
            before = len(listings)
            report = files_sweep_stray_versions()
            runs.append((len(listings) - before, report))
            if report.pass_completed:
                break
    finally:
        events.unregister("provide-client-params.s3.ListObjectVersions", count)

    # then each run made one listing of at most three versions, and the next run started with
    # the key the page cut: it lists that key again, whole
    assert [requests_made for requests_made, _ in runs] == [1, 1, 1, 1]
    assert all(params["MaxKeys"] == 3 for params in listings)
    assert [report.next_key for _, report in runs] == [
        f"files/{file_ids[1]}",
        f"files/{file_ids[2]}",
        f"files/{file_ids[3]}",
        "",
    ]
    assert [len(report.removed) for _, report in runs] == [1, 1, 1, 1]
    # and the pass left each key with its verified version alone, and is counted
    for file_id in file_ids:
        assert versions_of(file_id) == [verified_version(file_id)]
    sweep = StrayVersionSweep.objects.get(bucket=own_bucket)
    assert (sweep.next_key, sweep.passes_completed, sweep.lease_until) == ("", 1, None)


def test_a_run_while_another_holds_the_cursor_does_nothing(
    own_bucket: str, submitter: Any, settings: Any
) -> None:
    # given a stray version, and the cursor leased by a run still going
    file_id = upload_file(submitter, DATA)["fileId"]
    urls_long_expired(file_id)
    stray = write_again(file_id)
    StrayVersionSweep.objects.create(
        endpoint=settings.S3_ENDPOINT_URL or "",
        bucket=own_bucket,
        lease_until=timezone.now() + timedelta(minutes=5),
    )

    # then another run lists and removes nothing
    busy = files_sweep_stray_versions()
    assert (busy.busy, busy.removed, busy.listed) == (True, [], 0)
    assert stray in versions_of(file_id)

    # and once the lease of a run that died has passed, the next run sweeps
    StrayVersionSweep.objects.filter(bucket=own_bucket).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert files_sweep_stray_versions().removed == [f"{file_id}:{stray}"]


def test_a_key_with_more_versions_than_a_slice_holds_is_gone_through_within_it(
    own_bucket: str, submitter: Any, settings: Any
) -> None:
    # given a settled file whose key holds four versions beside the verified one
    file_id = upload_file(submitter, reads("many"))["fileId"]
    urls_long_expired(file_id)
    strays = [write_again(file_id, OTHER + bytes([n])) for n in range(4)]
    # and a sweep that lists one page of three versions per run
    settings.STRAY_VERSION_SWEEP_PAGES = 1
    settings.STRAY_VERSION_SWEEP_PAGE_SIZE = 3

    # when it runs: the key fills the first slice alone, so the second goes on within it
    first, second = files_sweep_stray_versions(), files_sweep_stray_versions()
    assert (first.next_key, first.pass_completed) == (f"files/{file_id}", False)
    assert (second.next_key, second.pass_completed) == ("", True)
    # then every stray is gone but the one the second run went on from, kept to go on from
    kept = set(versions_of(file_id)) - {verified_version(file_id)}
    assert len(kept) == 1 and kept <= set(strays)
    assert len(first.removed) + len(second.removed) == 3

    # and the next pass removes that one too
    third = files_sweep_stray_versions()
    assert third.removed == [f"{file_id}:{kept.pop()}"]
    assert versions_of(file_id) == [verified_version(file_id)]
