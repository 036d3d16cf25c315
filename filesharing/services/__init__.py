"""Every write to files goes through these functions."""

from filesharing.services.batch_confirm import ConfirmOutcome, files_confirm
from filesharing.services.lifecycle import file_download_url, file_restore, file_soft_delete
from filesharing.services.request_uploads import FileSpec, UploadTicket, file_request_uploads
from filesharing.services.verification import (
    file_confirm,
    file_ids_awaiting_verification,
    file_reverify,
    file_verify,
)

__all__ = [
    "ConfirmOutcome",
    "FileSpec",
    "UploadTicket",
    "file_confirm",
    "file_download_url",
    "file_ids_awaiting_verification",
    "file_request_uploads",
    "file_restore",
    "file_reverify",
    "file_soft_delete",
    "file_verify",
    "files_confirm",
]
