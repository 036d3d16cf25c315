from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from filesharing.models import File
from filesharing.services.latest import files_refresh_latest
from groups.models import Group, Membership
from submissions.models import ProcessedData, SequenceEntry


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("secret-pass-123")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Lab {n}")
    institution = "Example Institute"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class FileFactory(factory.django.DjangoModelFactory):
    """A row only; tests that need bytes upload them through the API."""

    class Meta:
        model = File

    group = factory.SubFactory(GroupFactory)
    uploader = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"reads_{n}.fastq")
    upload_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))

    @factory.post_generation
    def latest_flag(obj: File, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Rows made here skip the services, so the latest-version flag is set as they would."""
        if create:
            files_refresh_latest(files=[obj])
            obj.refresh_from_db(fields=["is_latest"])


def processed_entry(
    group: Group, accession: str, *, released: bool, metadata: dict[str, str] | None = None
) -> tuple[SequenceEntry, ProcessedData]:
    """A sars-cov-2 entry version processed by pipeline version 1; released entries have
    released processed data, as approval leaves them."""
    now = timezone.now()
    entry = SequenceEntry.objects.create(
        accession=accession,
        version=1,
        organism="sars-cov-2",
        group=group,
        submission_id=f"sub-{accession}",
        metadata={"geoLocCountry": "Kenya", "sampleCollectionDate": "2024-01-02"},
        status="APPROVED_FOR_RELEASE" if released else "PROCESSED",
        released_at=now if released else None,
    )
    processed = ProcessedData.objects.create(
        entry=entry,
        pipeline_version=1,
        status="PROCESSED",
        metadata=metadata or {"lineage": "BA.2"},
        released_at=now if released else None,
        finished_at=now,
    )
    return entry, processed
