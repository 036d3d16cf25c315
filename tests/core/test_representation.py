"""core.api.representation renders listing pages exactly as DRF's serializers do."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.api.representation import represent_many
from filesharing.api.serializers import FileOutputSerializer
from filesharing.models import File
from tests.factories import FileFactory, GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_files_in_every_state_render_as_drf_renders_them() -> None:
    group = GroupFactory()
    now = timezone.now()
    FileFactory(group=group, status=File.Status.REQUESTED, declared_size=None, size=None)
    verified = {"status": File.Status.VERIFIED, "verified_at": now, "size": 12, "sha256": "b" * 64}
    FileFactory(group=group, md5="a" * 32, **verified)
    FileFactory(group=group, released_at=now, **verified)
    FileFactory(group=group, status=File.Status.FAILED, failure_reason="sha256 mismatch")
    FileFactory(group=group, deleted_at=now, uploader=None, **verified)
    FileFactory(group=group, expires_at=now.replace(microsecond=0) + datetime.timedelta(days=3))
    rows = list(File.objects.select_related("group", "uploader").order_by("pk"))
    expected = FileOutputSerializer(rows, many=True).data
    assert represent_many(FileOutputSerializer, rows) == expected
    assert {row["uploader"] for row in expected} >= {None}
    assert any(row["releasedAt"] and row["releasedAt"].endswith("Z") for row in expected)


class _Sample(serializers.Serializer):
    title = serializers.CharField(source="profile.title", default="none")
    optional = serializers.CharField(source="missing", required=False)
    upper = serializers.SerializerMethodField()
    stamp = serializers.DateTimeField()
    naive = serializers.DateTimeField(allow_null=True)
    formatted = serializers.DateTimeField(source="stamp", format="%Y-%m-%d")
    secret = serializers.CharField(write_only=True)

    def get_upper(self, row: Any) -> str:
        return str(row.name).upper()


class _Row:
    def __init__(self, name: str, profile: Any, naive: datetime.datetime | None) -> None:
        self.name, self.profile, self.naive = name, profile, naive
        self.stamp = datetime.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.UTC)
        self.secret = "never shown"


def test_defaults_skipped_fields_methods_and_formats_follow_drf() -> None:
    user = UserFactory()
    rows = [
        _Row("a", None, None),  # a None on the way: the default
        _Row("b", type("P", (), {"title": "Dr"})(), datetime.datetime(2026, 5, 6, 7, 8)),
        _Row("c", {"title": "from a mapping"}, None),
        _Row("d", user, None),  # no attribute `title`: the default
    ]
    expected = _Sample(rows, many=True).data
    assert represent_many(_Sample, rows) == expected
    assert [row["title"] for row in expected] == ["none", "Dr", "from a mapping", "none"]
    assert all("optional" not in row and "secret" not in row for row in expected)
    assert expected[0]["stamp"] == "2026-01-02T03:04:05.600000Z"
    assert expected[0]["formatted"] == "2026-01-02"


@pytest.mark.parametrize("zone", ["UTC", "Europe/Zurich", "America/Los_Angeles"])
def test_date_times_follow_the_current_time_zone(zone: str) -> None:
    winter = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    summer = datetime.datetime(2026, 7, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC)
    rows = [_Row("a", None, None), _Row("b", None, None)]
    rows[0].stamp, rows[1].stamp = winter, summer
    rows[1].naive = datetime.datetime(2026, 7, 2, 3, 4, 5)  # naive: left to DRF

    with timezone.override(zone):
        expected = _Sample(rows, many=True).data
        assert represent_many(_Sample, rows) == expected
    if zone == "UTC":
        assert [row["stamp"] for row in expected] == [
            "2026-01-02T03:04:05Z",
            "2026-07-02T03:04:05.123456Z",
        ]
    else:
        assert all(not row["stamp"].endswith("Z") for row in expected)
