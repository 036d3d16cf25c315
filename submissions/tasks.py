from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from core.errors import StorageUnavailableError
from filesharing.services.release import file_id_chunks
from filesharing.tasks import publish_files_task
from submissions.models import OrphanedFileReport
from submissions.services import (
    entries_reset_stale_processing,
    orphaned_files_report,
    orphaned_files_report_mail_all,
    processed_data_file_ids_to_publish,
    public_tags_reconcile,
)


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def release_processed_data_task(processed_data_ids: list[int]) -> int:
    """Split the publication of the output files of released processed data into chunks that
    any worker takes (`publish_files_task`); answers the number of chunks queued. A chunk lost
    with its worker is finished by reconciliation (or redelivered: tasks are acknowledged late)."""
    file_ids = processed_data_file_ids_to_publish(processed_data_ids=processed_data_ids)
    chunks = file_id_chunks(file_ids, settings.RELEASE_CHUNK_SIZE)
    for chunk in chunks:
        publish_files_task.delay(chunk)
    return len(chunks)


@shared_task(autoretry_for=(StorageUnavailableError,), retry_backoff=60, max_retries=5)
def reconcile_public_tags_task() -> dict[str, Any]:
    return public_tags_reconcile().as_dict()


@shared_task
def report_orphaned_files_task() -> int:
    """The report, then its mails in a task of their own (one per group would be many)."""
    report = orphaned_files_report(mail=False)
    mail_orphaned_files_report_task.delay(report.pk)
    return report.pk


@shared_task
def mail_orphaned_files_report_task(report_id: int) -> int:
    report = OrphanedFileReport.objects.get(pk=report_id)
    if report.mailed_to:
        return 0  # mailed already: running twice sends nothing twice
    return len(orphaned_files_report_mail_all(report=report))


@shared_task
def reset_stale_processing_task() -> int:
    """Entries handed to the pipeline that never answered go back to the queue."""
    return entries_reset_stale_processing()
