from __future__ import annotations

from celery import shared_task

from core.errors import StorageUnavailableError
from filesharing.services import file_ids_awaiting_verification, file_verify


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
