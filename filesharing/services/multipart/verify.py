"""`uploaded` → `accepted` (file `verified`) or `rejected` (file `failed`), from what S3 holds.

For SHA256 uploads S3 verified every part against the SHA-256 its URL signed, and holds a
composite checksum of those parts; that proves the parts arrived intact, not which whole file
they make. So the verifier streams the object through SHA-256 and MD5 (up to
MULTIPART_VERIFY_HASH_MAX_BYTES, by default every size), compares them with the declared digests
and records them. Above that limit an operator has chosen to trust the parts: the declared
digest is recorded, backed by the per-part checks. MD5 and unchecked uploads (an S3 that checks
no SHA-256, or parts signed with no checksum, as Loculus's) are always hashed whole: nothing
else stands behind their bytes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.services.multipart.common import SHA256


def _problem(
    *,
    upload: MultipartUpload,
    facts: s3.ObjectFacts | None,
    checksum: str | None,
    digests: s3.ObjectDigests | None,
) -> str | None:
    file = upload.file
    sha256_hex = digests.sha256_hex if digests else None
    if facts is None:
        return "the assembled object is missing from the object store"
    if file.declared_size is not None and facts.size != file.declared_size:
        return f"size {facts.size} differs from the declared {file.declared_size} bytes"
    if facts.size > settings.MAX_FILE_SIZE:
        return f"size {facts.size} is over the limit of {settings.MAX_FILE_SIZE} bytes"
    if upload.checksum_algorithm != SHA256 and sha256_hex is None:
        return "the assembled object could not be hashed, and S3 checked no SHA-256 of its parts"
    if upload.checksum_algorithm == SHA256 and not (checksum or "").endswith(
        f"-{upload.part_count}"
    ):
        return (
            f"the object holds no composite SHA-256 of its {upload.part_count} checked parts "
            f"(found {checksum or 'none'})"
        )
    if file.declared_sha256 and sha256_hex and sha256_hex != file.declared_sha256:
        return f"sha256 {sha256_hex} differs from the declared {file.declared_sha256}"
    if file.declared_md5 and digests and digests.md5_hex != file.declared_md5:
        return f"md5 {digests.md5_hex} differs from the declared {file.declared_md5}"
    return None


def multipart_upload_verify(*, upload_id: uuid.UUID | str) -> MultipartUpload:
    """Idempotent: an upload that is not `uploaded` is returned as it is."""
    upload = MultipartUpload.objects.select_related("file").get(pk=upload_id)
    if upload.status != MultipartUpload.Status.UPLOADED:
        return upload
    key = upload.file.key
    # S3 is read before any row is locked: hashing a terabyte must not hold a lock.
    facts = s3.head(key=key)
    checksum = s3.object_checksum_sha256(key=key, version_id=facts.version_id) if facts else None
    digests = None
    hash_always = upload.checksum_algorithm != SHA256
    if facts is not None and (
        hash_always or facts.size <= settings.MULTIPART_VERIFY_HASH_MAX_BYTES
    ):
        digests = s3.hash_object_digests(key=key, size=facts.size, version_id=facts.version_id)
    sha256_hex = digests.sha256_hex if digests else None
    with transaction.atomic():
        upload = MultipartUpload.objects.select_for_update().get(pk=upload_id)
        if upload.status != MultipartUpload.Status.UPLOADED:
            return upload
        upload.file = file = File.objects.select_for_update().get(pk=upload.file_id)
        if file.status not in (File.Status.REQUESTED, File.Status.UPLOADED):
            return _follow_settled_file(upload)
        problem = _problem(upload=upload, facts=facts, checksum=checksum, digests=digests)
        if problem is None and facts is not None:
            upload.status = MultipartUpload.Status.ACCEPTED
            file.status = File.Status.VERIFIED
            file.size = facts.size
            file.sha256 = sha256_hex or file.declared_sha256
            file.md5 = digests.md5_hex if digests else file.declared_md5
            file.etag = facts.etag
            file.s3_version_id = facts.version_id
            file.verified_at = timezone.now()
            file.failure_reason = ""
        else:
            upload.status = MultipartUpload.Status.REJECTED
            upload.failure_reason = file.failure_reason = problem or ""
            file.status = File.Status.FAILED
            file.size = None
        upload.save(update_fields=["status", "failure_reason"])
        file.save()
        details = {
            "reason": upload.failure_reason,
            "size": facts.size if facts else None,
            "sha256": sha256_hex,
            "checksumSha256": checksum,
            "sha256Hashed": sha256_hex is not None,
        }
        audit_event(actor=None, action=f"multipart.{upload.status}", obj=upload, details=details)
        audit_event(
            actor=None,
            action=f"file.{file.status}",
            obj=file,
            details={
                "reason": file.failure_reason,
                "size": file.size,
                "sha256": file.sha256,
                "md5": file.md5,
            },
        )
    return upload


def _follow_settled_file(upload: MultipartUpload) -> MultipartUpload:
    """The file was settled by another path (a curator's action): the upload follows it."""
    file = upload.file
    if file.status == File.Status.VERIFIED:
        upload.status = MultipartUpload.Status.ACCEPTED
    else:
        upload.status = MultipartUpload.Status.REJECTED
        upload.failure_reason = f"the file was {file.status}: {file.failure_reason}"
    upload.save(update_fields=["status", "failure_reason"])
    audit_event(
        actor=None,
        action=f"multipart.{upload.status}",
        obj=upload,
        details={"reason": upload.failure_reason, "fileStatus": file.status},
    )
    return upload
