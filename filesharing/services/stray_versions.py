"""Object versions no file owns, removed a bounded slice of the bucket at a time.

Where S3 ignores If-None-Match (Ceph RGW), an upload URL still valid after its file was verified
can write another version to the file's key; a project session's PUT URL can, on every S3, until
the session's deadline. Every read names the verified version, so such a write neither replaces
nor breaks the file, but it stays stored. This sweep removes, under the key of every verified
file, each version and delete marker other than the verified one:

- at once when the file is attached to an entry or released: nothing records such a file's
  object again, so no other version can become its own;
- otherwise once no upload URL can still be writing to the key: the last one a file gets expires
  by its `upload_deadline` (a session's URLs) or an upload URL's life after it was requested,
  and a PUT begun just before that has had another upload URL's life to finish. (Until its
  session completes, a session's file takes whatever S3 holds newest under its key.)

Keys of files that are not verified, and keys that no file has, are the verifier's, the purge's
and the storage check's business, and are left alone here; so is a file with a multipart upload
in flight. A key holding a single version holds nothing the file does not own.

Bounded: each run lists at most STRAY_VERSION_SWEEP_PAGES pages of STRAY_VERSION_SWEEP_PAGE_SIZE
versions under `files/`, in key order, from where the last run stopped (StrayVersionSweep), reads
the rows of the files whose keys hold more than one version, and deletes in batches of 1,000.
Successive runs cover the bucket, then start it again. Safe to run twice, or at once: a run
leases the cursor, and a version already removed is not removed again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import Actor, audit_event
from filesharing import s3
from filesharing.models import File, MultipartUpload, StrayVersionSweep
from filesharing.selectors import attached_q

PREFIX = "files/"
LEASE = timedelta(minutes=15)  # a run that died frees the cursor after this long


@dataclass
class StraySweepReport:
    listed: int = 0  # versions and delete markers listed
    requests: int = 0  # ListObjectVersions requests made
    removed: list[str] = field(default_factory=list)  # "<file id>:<version id>"
    refused: list[str] = field(default_factory=list)  # "<file id>:<version id>: <S3 code>"
    next_key: str = ""  # the key the next run starts with ("": the bucket's start)
    pass_completed: bool = False
    busy: bool = False  # another run holds the cursor; nothing was done

    def as_dict(self) -> dict[str, object]:
        return {
            "listed": self.listed,
            "requests": self.requests,
            "removed": self.removed,
            "refused": self.refused,
            "nextKey": self.next_key,
            "passCompleted": self.pass_completed,
            "busy": self.busy,
        }


def _lease(now: datetime) -> StrayVersionSweep | None:
    endpoint, bucket = settings.S3_ENDPOINT_URL or "", s3.bucket()
    try:
        with transaction.atomic():
            sweep, _ = StrayVersionSweep.objects.get_or_create(endpoint=endpoint, bucket=bucket)
    except IntegrityError:  # another run made the row at the same moment
        sweep = StrayVersionSweep.objects.get(endpoint=endpoint, bucket=bucket)
    claimed = (
        StrayVersionSweep.objects.filter(pk=sweep.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not claimed:
        return None
    sweep.refresh_from_db()
    return sweep


@dataclass(frozen=True)
class _Slice:
    versions: list[s3.ObjectVersion]  # of whole keys, or of the one key that filled the slice
    next_key: str  # where the next run starts ("": the bucket's start, this pass is complete)
    next_version: str  # set when one key filled the slice: go on within it after this version


def _list_slice(sweep: StrayVersionSweep, report: StraySweepReport) -> _Slice:
    """Up to the configured pages from where the last run stopped."""
    found: list[s3.ObjectVersion] = []
    if sweep.next_version:
        key, version = sweep.next_key, sweep.next_version
    else:
        # A key marker is exclusive on AWS and LocalStack, inclusive on Ceph RGW Pacific: a
        # prefix of the key, which no key is, starts the listing at the key on every S3.
        key, version = sweep.next_key[:-1], ""
    for _ in range(settings.STRAY_VERSION_SWEEP_PAGES):
        page = s3.object_versions_page(
            prefix=PREFIX,
            key_marker=key,
            version_marker=version,
            max_keys=settings.STRAY_VERSION_SWEEP_PAGE_SIZE,
        )
        report.requests += 1
        found += page.versions
        if not page.next_key:
            return _Slice(found, "", "")
        key, version = page.next_key, page.next_version
    # The last key may go on beyond the slice: the next run starts with it and lists it whole.
    # A key that filled the slice alone is taken as far as it was listed and gone on with.
    whole = [item for item in found if item.key != key]
    if whole:
        return _Slice(whole, key, "")
    return _Slice(found, key, version)


def _file_id(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.removeprefix(PREFIX))
    except ValueError:
        return None


def _sweepable(file_ids: list[uuid.UUID], now: datetime) -> dict[str, str]:
    """File ID -> verified version, of the files among `file_ids` whose other versions go."""
    life = settings.UPLOAD_URL_LIFETIME
    quiet = Q(upload_deadline__lt=now - life, upload_requested_at__lt=now - 2 * life)
    in_flight = MultipartUpload.objects.filter(status__in=MultipartUpload.ACTIVE_STATUSES).values(
        "file_id"
    )
    rows = (
        File.objects.filter(pk__in=file_ids, status=File.Status.VERIFIED)
        .exclude(s3_version_id="")
        .filter(attached_q() | Q(released_at__isnull=False) | quiet)
        .exclude(pk__in=in_flight)
        .values_list("pk", "s3_version_id")
    )
    return {str(pk): version for pk, version in rows}


def files_sweep_stray_versions(*, actor: Actor = None) -> StraySweepReport:
    """One bounded run of the sweep (see the module's docstring); an audit event
    `file.stray_versions_removed` per file, written with the cursor's move."""
    now = timezone.now()
    report = StraySweepReport()
    sweep = _lease(now)
    if sweep is None:
        report.busy = True
        return report
    try:
        listed = _list_slice(sweep, report)
        report.listed = len(listed.versions)
        kept, strays = _strays(listed.versions, now)
        # the version the next run goes on after must still be there to go on from
        strays = [stray for stray in strays if stray != (listed.next_key, listed.next_version)]
        with transaction.atomic():
            refused = s3.delete_versions(versions=strays)
            removed: dict[str, list[str]] = defaultdict(list)
            for key, version in strays:
                file_id = key.removeprefix(PREFIX)
                if (key, version) in refused:
                    report.refused.append(f"{file_id}:{version}: {refused[(key, version)]}")
                else:
                    removed[file_id].append(version)
                    report.removed.append(f"{file_id}:{version}")
            _audit(removed, kept, actor=actor)
            _advance(sweep, listed, now=now, report=report)
    finally:
        StrayVersionSweep.objects.filter(pk=sweep.pk).update(lease_until=None)
    return report


def _strays(
    listed: list[s3.ObjectVersion], now: datetime
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The verified version of each file to sweep, by file ID, and the (key, version ID) of
    every other version under those files' keys."""
    by_key: dict[str, list[s3.ObjectVersion]] = defaultdict(list)
    for version in listed:
        by_key[version.key].append(version)
    ids = [
        file_id
        for key, versions in by_key.items()
        if len(versions) > 1 and (file_id := _file_id(key)) is not None
    ]
    kept = _sweepable(ids, now)
    strays = [
        (version.key, version.version_id)
        for file_id, verified in kept.items()
        for version in by_key[f"{PREFIX}{file_id}"]
        if version.version_id != verified
    ]
    return kept, strays


def _audit(removed: dict[str, list[str]], kept: dict[str, str], *, actor: Actor) -> None:
    for file in File.objects.filter(pk__in=list(removed)).only("id").order_by("pk"):
        audit_event(
            actor=actor,
            action="file.stray_versions_removed",
            obj=file,
            details={"versionIds": removed[str(file.pk)], "keptVersionId": kept[str(file.pk)]},
        )


def _advance(
    sweep: StrayVersionSweep, listed: _Slice, *, now: datetime, report: StraySweepReport
) -> None:
    sweep.next_key, sweep.next_version = listed.next_key, listed.next_version
    sweep.last_run_at = now
    if sweep.pass_started_at is None:
        sweep.pass_started_at = now
    if not listed.next_key:
        report.pass_completed = True
        sweep.passes_completed += 1
        sweep.pass_started_at = None
    sweep.save(
        update_fields=[
            "next_key",
            "next_version",
            "last_run_at",
            "pass_started_at",
            "passes_completed",
        ]
    )
    report.next_key = listed.next_key
