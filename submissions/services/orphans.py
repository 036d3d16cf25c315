"""The daily orphaned-files report: verified files attached to no entry and older than
ORPHAN_RETENTION, stored as an OrphanedFileReport and mailed to each group's admins.

With ORPHAN_CLEANUP_ENABLED, cleanup has two phases: a file is marked on one run and removed on
the next if it is still attached to nothing, so the admins have a day's notice.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Case, Count, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.audit import audit_event
from core.errors import ApplicationError
from filesharing.models import File
from filesharing.selectors import orphaned_q
from filesharing.services.orphans import file_remove_orphaned
from groups.models import Group, Membership
from submissions.models import OrphanedFile, OrphanedFileReport

logger = logging.getLogger(__name__)
Action = OrphanedFile.Action
CSV_COLUMNS = [
    "file_id",
    "group",
    "name",
    "version",
    "size",
    "sha256",
    "uploader",
    "verified_at",
    "action",
]


def orphaned_files_report(
    *, now: datetime | None = None, cleanup: bool | None = None, mail: bool = True
) -> OrphanedFileReport:
    """Find, record, optionally clean up, and (with `mail`) mail. Each run makes one report.
    Without `mail` the caller mails later (`orphaned_files_report_mail_all`): the report task
    leaves the mails to a task of their own."""
    now = now or timezone.now()
    cleanup = settings.ORPHAN_CLEANUP_ENABLED if cleanup is None else cleanup
    marked = _marked_on_previous_run() if cleanup else set()
    with transaction.atomic():
        report = OrphanedFileReport.objects.create(retention_days=settings.ORPHAN_RETENTION.days)
        _record_rows(report=report, now=now, cleanup=cleanup, marked=marked)
        totals = report.rows.aggregate(files=Count("pk"), size=Coalesce(Sum("size"), 0))
        report.file_count, report.total_bytes = totals["files"], totals["size"]
        report.save(update_fields=["file_count", "total_bytes"])
        audit_event(
            actor=None,
            action="orphaned_files.reported",
            obj=report,
            details={"files": report.file_count, "bytes": report.total_bytes},
        )
    report.removed_count = _remove(list(report.rows.filter(action=Action.REMOVED)))
    report.save(update_fields=["removed_count"])
    if mail:
        orphaned_files_report_mail_all(report=report)
    return report


def orphaned_files_report_mail_all(*, report: OrphanedFileReport) -> list[str]:
    """Mail each group's admins their part of the report; records and answers the recipients."""
    rows = list(report.rows.select_related("group").order_by("group__name", "name", "version"))
    report.mailed_to = orphaned_files_report_mail(report=report, rows=rows)
    report.save(update_fields=["mailed_to"])
    return list(report.mailed_to)


def _record_rows(
    *, report: OrphanedFileReport, now: datetime, cleanup: bool, marked: set[str]
) -> None:
    """One INSERT … SELECT: the orphans (found through the index on orphan candidates) become
    the report's rows inside the database, without a model instance per file."""
    if not cleanup:
        action: Value | Case = Value(Action.REPORTED)
    else:
        action = Case(
            When(pk__in=list(marked), then=Value(Action.REMOVED)), default=Value(Action.MARKED)
        )
    orphans = File.objects.filter(orphaned_q(now=now)).values_list(
        Value(report.pk),
        "id",
        "group_id",
        "name",
        "version",
        "size",
        "sha256",
        Coalesce("uploader__username", Value("")),
        "verified_at",
        action,
    )
    select, params = orphans.query.sql_with_params()
    columns = (
        "report_id, file_id, group_id, name, version, size, sha256, uploader, verified_at, action"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OrphanedFile._meta.db_table} ({columns}) {select}",
            params,
        )


def _marked_on_previous_run() -> set[str]:
    previous = OrphanedFileReport.objects.order_by("-created_at", "-pk").first()
    if previous is None:
        return set()
    return {
        str(pk)
        for pk in previous.rows.filter(action=Action.MARKED).values_list("file_id", flat=True)
    }


def _remove(rows: list[OrphanedFile]) -> int:
    removed = 0
    for row in rows:
        try:
            if file_remove_orphaned(file_id=row.file_id):
                removed += 1
            else:
                OrphanedFile.objects.filter(report_id=row.report_id, file_id=row.file_id).update(
                    action=Action.REPORTED
                )
                row.action = Action.REPORTED
        except ApplicationError as exc:
            # The row is settled; only the bytes stay behind. Logged for the operators.
            logger.warning("orphaned file %s: object not removed: %s", row.file_id, exc.message)
            removed += 1
    return removed


def orphaned_files_csv(rows: Iterable[OrphanedFile]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.file_id,
                row.group.name,
                row.name,
                row.version,
                row.size,
                row.sha256,
                row.uploader,
                row.verified_at.isoformat() if row.verified_at else "",
                row.action,
            ]
        )
    return out.getvalue()


def orphaned_files_report_mail(
    *, report: OrphanedFileReport, rows: list[OrphanedFile]
) -> list[str]:
    """One mail per group with orphaned files, to its admins, listing only its files."""
    by_group: dict[int, list[OrphanedFile]] = defaultdict(list)
    for row in rows:
        by_group[row.group_id].append(row)
    mailed: list[str] = []
    admins: dict[int, list[str]] = defaultdict(list)
    for group_id, email in (
        Membership.objects.filter(
            group_id__in=list(by_group), role=Membership.Role.ADMIN, user__is_active=True
        )
        .exclude(user__email="")
        .values_list("group_id", "user__email")
    ):
        admins[group_id].append(email)
    for group in Group.objects.filter(pk__in=list(by_group)).order_by("name"):
        recipients = sorted(admins[group.pk])
        if not recipients:
            continue
        message = EmailMessage(
            subject=f"[seqvault] {len(by_group[group.pk])} orphaned file(s) in group {group.name}",
            body=_mail_body(report, group, by_group[group.pk]),
            to=recipients,
        )
        message.attach(
            f"orphaned-files-{group.pk}-{report.created_at:%Y%m%d}.csv",
            orphaned_files_csv(by_group[group.pk]),
            "text/csv",
        )
        try:
            message.send()
        except Exception:  # a mail server problem must not lose the report
            logger.exception("orphaned-files mail to %s failed", recipients)
            continue
        mailed.extend(recipients)
    return mailed


_NOTES: dict[str, str] = {
    Action.MARKED: " (will be removed on the next run if still unattached)",
    Action.REMOVED: " (removed)",
}


def _mail_body(report: OrphanedFileReport, group: Group, rows: list[OrphanedFile]) -> str:
    lines = [
        f"These files of group {group.name} were uploaded and verified more than "
        f"{report.retention_days} days ago but are attached to no sequence entry.",
        "Attach them to a submission, or delete them if they are not needed.",
        "",
    ]
    for row in rows:
        note = _NOTES.get(row.action, "")
        lines.append(
            f"- {row.name or '(unnamed)'} v{row.version}, {row.size} bytes, file ID {row.file_id}, "
            f"verified {row.verified_at:%Y-%m-%d}{note}"
        )
    return "\n".join(lines) + "\n"
