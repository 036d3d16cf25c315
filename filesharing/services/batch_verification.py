"""Verify many files at once: S3 is read in parallel, the rows are written in the caller's thread.

Used where files are cited by ID (submissions, pipeline results) and a file nobody confirmed
must be checked before it can be attached. Writing in the caller's thread keeps the result
inside the caller's connection and transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.audit import Actor
from filesharing.models import File
from filesharing.services.parallel import s3_map
from filesharing.services.storage import storage_capabilities
from filesharing.services.verification import PENDING, file_read_object, file_record_object


def files_verify_now(*, files: Sequence[File], actor: Actor = None) -> dict[str, File]:
    """Settle every pending file in `files`; answers each file by ID as it is afterwards."""
    result = {str(file.pk): file for file in files}
    pending = [file for file in files if file.status in PENDING]
    if not pending:
        return result
    capabilities = storage_capabilities()
    found = s3_map(lambda file: file_read_object(file=file, capabilities=capabilities), pending)
    for file, reading in zip(pending, found, strict=True):
        result[str(file.pk)] = file_record_object(file_id=file.pk, reading=reading, actor=actor)
    return result
