"""The curators' admin: filters, search, actions through services, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from filesharing.models import File
from tests.conftest import upload_file
from tests.factories import FileFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator_browser() -> Client:
    browser = Client()
    browser.force_login(UserFactory(is_staff=True, is_superuser=True))
    return browser


def changelist(browser: Client, query: str = "") -> str:
    response = browser.get(f"/admin/filesharing/file/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_filters_orphaned_deleted_and_released(curator_browser: Client, submitter: Any) -> None:
    old = upload_file(submitter, b"old", name="old.fq")
    File.objects.filter(pk=old["fileId"]).update(verified_at=timezone.now() - timedelta(days=30))
    fresh = upload_file(submitter, b"new", name="fresh.fq")
    FileFactory(group=submitter.group, name="gone.fq", deleted_at=timezone.now())
    FileFactory(group=submitter.group, name="public.fq", released_at=timezone.now())

    orphaned = changelist(curator_browser, "?state=orphaned")
    assert "old.fq" in orphaned and "fresh.fq" not in orphaned
    assert "gone.fq" in changelist(curator_browser, "?state=deleted")
    released = changelist(curator_browser, "?state=released")
    assert "public.fq" in released and "old.fq" not in released
    # "unreleased" lists files attached to entries and not yet public (tests/submissions)
    unreleased = changelist(curator_browser, "?state=unreleased")
    assert "fresh.fq" not in unreleased and "public.fq" not in unreleased
    by_checksum = changelist(curator_browser, f"?q={fresh['sha256']}")
    assert "fresh.fq" in by_checksum and "old.fq" not in by_checksum
    by_id = changelist(curator_browser, f"?q={old['fileId']}")
    assert "old.fq" in by_id and "fresh.fq" not in by_id


def test_soft_delete_and_restore_actions_go_through_services(
    curator_browser: Client, submitter: Any
) -> None:
    body = upload_file(submitter, b"data", name="d.fq")
    for action in ("soft_delete", "restore"):
        response = curator_browser.post(
            "/admin/filesharing/file/",
            {"action": action, "_selected_action": [body["fileId"]]},
            follow=True,
        )
        assert response.status_code == 200
    assert File.objects.get(pk=body["fileId"]).deleted_at is None
    actions = list(
        AuditEvent.objects.filter(object_id=body["fileId"]).values_list("action", flat=True)
    )
    assert "file.deleted" in actions and "file.restored" in actions


def test_reverify_action_checks_the_object(curator_browser: Client, submitter: Any) -> None:
    body = upload_file(submitter, b"data", name="d.fq")
    response = curator_browser.post(
        "/admin/filesharing/file/",
        {"action": "reverify", "_selected_action": [body["fileId"]]},
        follow=True,
    )
    assert f"File {body['fileId']}: verified" in response.content.decode()
    assert AuditEvent.objects.filter(action="file.reverified", object_id=body["fileId"]).exists()


def test_export_csv(curator_browser: Client, submitter: Any) -> None:
    body = upload_file(submitter, b"csv-bytes", name="c.fq")
    response = curator_browser.post(
        "/admin/filesharing/file/", {"action": "export_csv", "_selected_action": [body["fileId"]]}
    )
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["id", "group", "name", "version", "status"]
    assert rows[1][0] == body["fileId"]
    assert rows[1][2:7] == ["c.fq", "1", "verified", "9", body["sha256"]]


def test_change_page_shows_what_s3_holds(curator_browser: Client, submitter: Any) -> None:
    body = upload_file(submitter, b"facts", name="f.fq")
    page = curator_browser.get(f"/admin/filesharing/file/{body['fileId']}/change/")
    assert page.status_code == 200
    assert f"size 5, sha256 {body['sha256']}" in page.content.decode()


def test_audit_events_are_read_only(curator_browser: Client, submitter: Any) -> None:
    upload_file(submitter, b"x")
    event = AuditEvent.objects.first()
    assert event is not None
    assert curator_browser.get("/admin/core/auditevent/").status_code == 200
    assert curator_browser.get("/admin/core/auditevent/add/").status_code == 403
    assert curator_browser.post(f"/admin/core/auditevent/{event.pk}/delete/").status_code == 403


def test_group_admin_sets_quota_through_the_service(
    curator_browser: Client, submitter: Any
) -> None:
    group = submitter.group
    page = curator_browser.get(f"/admin/groups/group/{group.pk}/change/")
    assert page.status_code == 200
    membership = group.memberships.get()
    response = curator_browser.post(
        f"/admin/groups/group/{group.pk}/change/",
        {
            "name": group.name,
            "institution": group.institution,
            "contact_email": "",
            "quota_bytes": "12345",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(membership.pk),
            "memberships-0-group": str(group.pk),
            "memberships-0-user": str(submitter.user.pk),
            "memberships-0-role": "admin",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    group.refresh_from_db()
    assert group.quota_bytes == 12345
    assert AuditEvent.objects.filter(action="group.quota_set", object_id=str(group.pk)).exists()
