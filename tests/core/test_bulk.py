"""New rows in bulk: instances built positionally, then written by COPY, read back as the ORM
would have saved them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.audit import audit_events_bulk
from core.bulk import bulk_insert, new_instances
from core.models import AuditEvent
from filesharing.models import File
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_instances_built_positionally_are_saved_as_keyword_built_ones_would_be() -> None:
    group, user = GroupFactory(), UserFactory()

    made = new_instances(
        File,
        common={"is_latest": True, "upload_deadline": timezone.now()},
        rows=[{"name": "a.fastq", "version": 3}, {"name": "b.fastq", "declared_size": 7}],
        related={"group": group, "uploader": user},
    )
    with CaptureQueriesContext(connection) as captured:
        assert [file.group.name for file in made] == [group.name, group.name]
        assert made[0].uploader == user
    bulk_insert(made)

    assert captured.captured_queries == []
    assert made[0].pk != made[1].pk  # uuid4 called for each row
    stored = {file.name: file for file in File.objects.filter(group=group)}
    assert set(stored) == {"a.fastq", "b.fastq"}
    assert (stored["a.fastq"].version, stored["a.fastq"].declared_size) == (3, None)
    assert (stored["b.fastq"].version, stored["b.fastq"].declared_size) == (1, 7)
    for file in stored.values():
        assert file.status == File.Status.REQUESTED and file.is_latest
        assert file.uploader_id == user.pk and file.attachment_count == 0
        assert file.upload_requested_at is not None


def test_a_field_the_model_lacks_is_refused_before_anything_is_made() -> None:
    with pytest.raises(TypeError, match="no fields \\['group'\\]"):
        new_instances(File, common={"group": 1}, rows=[{"name": "a"}])


def test_audit_rows_in_bulk_are_one_per_object() -> None:
    user = UserFactory()
    files = new_instances(
        File,
        common={"group_id": GroupFactory().pk, "upload_deadline": timezone.now()},
        rows=[{}, {}, {}],
    )
    bulk_insert(files)

    written = audit_events_bulk(actor=user, action="file.upload_requested", objects=files)

    assert written == 3
    rows = AuditEvent.objects.filter(action="file.upload_requested", actor=user)
    assert sorted(rows.values_list("object_id", flat=True)) == sorted(str(f.pk) for f in files)
    assert {row.object_type for row in rows} == {"filesharing.file"}
