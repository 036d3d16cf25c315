"""A verified file whose object version is gone from the bucket stops claiming its bytes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from filesharing.services.storage_check import files_mark_missing_objects
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def test_a_file_whose_object_version_is_gone_becomes_failed_with_reason_and_audit(
    submitter: Any, s3_client: Any
) -> None:
    # given two verified files, one of which lost its object version in S3
    kept = upload_file(submitter, b"kept bytes\n", name="kept.fastq")
    lost = upload_file(submitter, b"lost bytes\n", name="lost.fastq")
    lost_row = File.objects.get(pk=lost["fileId"])
    s3_client.delete_object(Bucket=s3.bucket(), Key=lost_row.key, VersionId=lost_row.s3_version_id)

    # when storage is checked
    report = files_mark_missing_objects()

    # then only the lost one is failed, says why, and the change is audited
    assert [str(file_id) for file_id in report.marked] == [lost["fileId"]]
    assert report.checked >= 2
    lost_row.refresh_from_db()
    assert (lost_row.status, lost_row.size) == ("failed", None)
    assert "missing from storage" in lost_row.failure_reason
    assert AuditEvent.objects.filter(
        action="file.object_missing", object_id=lost["fileId"]
    ).exists()
    assert File.objects.get(pk=kept["fileId"]).status == "verified"
    download = submitter.client.get(f"/api/files/{lost['fileId']}/download")
    assert (download.status_code, download.json()["error"]["code"]) == (409, "file_not_verified")
    # and a second check changes nothing more
    assert files_mark_missing_objects().marked == []


def test_the_command_reports_what_it_found(submitter: Any) -> None:
    upload_file(submitter, b"present\n", name="present.fastq")
    out = StringIO()
    call_command("reconcile_storage", stdout=out)
    assert "all objects found" in out.getvalue()
