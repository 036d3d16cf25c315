from __future__ import annotations

from celery import shared_task

from core.errors import StorageUnavailableError
from filesharing.services import file_ids_awaiting_verification, file_verify
from filesharing.services.multipart import (
    multipart_upload_expire_stale,
    multipart_upload_verify,
    multipart_uploads_cleanup,
)
from filesharing.services.release import files_publish


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def verify_file_task(file_id: str) -> str:
    return file_verify(file_id=file_id).status


@shared_task
def verify_unconfirmed_files_task() -> int:
    """Settle uploads nobody confirmed (and expire those whose deadline passed)."""
    file_ids = file_ids_awaiting_verification()
    for file_id in file_ids:
        verify_file_task.delay(file_id)
    return len(file_ids)


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def publish_files_task(file_ids: list[str]) -> int:
    """Tag one chunk of files public and mark them released; answers how many were released."""
    return len(files_publish(file_ids=file_ids))


# --- multipart uploads ----------------------------------------------------------------------


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def verify_multipart_upload_task(upload_id: str) -> str:
    return multipart_upload_verify(upload_id=upload_id).status


@shared_task(
    autoretry_for=(StorageUnavailableError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
)
def abort_stale_upload_task(upload_id: str) -> str:
    return multipart_upload_expire_stale(upload_id=upload_id).status


@shared_task
def cleanup_stale_uploads_task() -> dict[str, int]:
    """Abort multipart uploads with no activity for MULTIPART_STALE_AFTER, queue again the
    verifications of completions that were lost, and settle single uploads past their deadline
    (`expired` when no object arrived). Verified files are never touched."""
    report = multipart_uploads_cleanup()
    for upload_id in report.stale_upload_ids:
        abort_stale_upload_task.delay(upload_id)
    for upload_id in report.unverified_upload_ids:
        verify_multipart_upload_task.delay(upload_id)
    for file_id in report.overdue_file_ids:
        verify_file_task.delay(file_id)
    return {
        "stale": len(report.stale_upload_ids),
        "unverified": len(report.unverified_upload_ids),
        "overdue": len(report.overdue_file_ids),
    }
