"""Removal of orphaned files: verified, attached to nothing, past retention (selectors.orphaned_q).

Only the orphaned-files job calls this, and only for a file it reported on an earlier run
(the grace period of DESIGN rule 2). The row is settled first and the object deleted after the
commit: a crash in between leaves bytes nobody refers to, never a row without its bytes.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_event
from filesharing import s3
from filesharing.models import File
from filesharing.selectors import attached_q, orphaned_q
from filesharing.services.latest import files_refresh_latest, groups_lock


def file_remove_orphaned(*, file_id: uuid.UUID | str, actor: Actor = None) -> bool:
    """Remove the file if it is still orphaned; False (and nothing done) when it is not."""
    with transaction.atomic():
        groups_lock(File.objects.filter(pk=file_id).values_list("group_id", flat=True))
        # The attachment count is checked again against the attachments themselves: bytes are
        # removed for good only when nothing cites them.
        file = (
            File.objects.select_for_update()
            .filter(orphaned_q(), pk=file_id)
            .exclude(attached_q())
            .first()
        )
        if file is None:
            return False
        version_id = file.s3_version_id
        file.status = File.Status.EXPIRED
        file.failure_reason = "removed: attached to nothing on two orphaned-file reports"
        file.deleted_at = timezone.now()
        file.save(update_fields=["status", "failure_reason", "deleted_at"])
        files_refresh_latest(files=[file])
        audit_event(
            actor=actor,
            action="file.orphan_removed",
            obj=file,
            details={"size": file.size, "sha256": file.sha256, "version_id": version_id},
        )
    s3.delete_object_version(key=file.key, version_id=version_id)
    return True
