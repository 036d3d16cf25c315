"""Multipart uploads (the GHGA upload controller's states): start, part URLs, completion,
verification, cancellation and the cleanup of abandoned uploads.

How the whole-file SHA-256 is established: docs/multipart.md, "Checksums".
"""

from filesharing.services.multipart.cleanup import (
    MultipartCleanupReport,
    multipart_upload_expire_stale,
    multipart_uploads_cleanup,
)
from filesharing.services.multipart.complete import (
    multipart_upload_cancel,
    multipart_upload_complete,
)
from filesharing.services.multipart.parts import (
    PartRequest,
    PartUrl,
    multipart_upload_part_urls,
    multipart_upload_parts,
)
from filesharing.services.multipart.start import multipart_part_size, multipart_upload_create
from filesharing.services.multipart.upfront import (
    UpfrontUpload,
    file_request_multipart_uploads,
    multipart_uploads_complete_by_etags,
)
from filesharing.services.multipart.verify import multipart_upload_verify

__all__ = [
    "MultipartCleanupReport",
    "PartRequest",
    "PartUrl",
    "UpfrontUpload",
    "file_request_multipart_uploads",
    "multipart_part_size",
    "multipart_upload_cancel",
    "multipart_upload_complete",
    "multipart_upload_create",
    "multipart_upload_expire_stale",
    "multipart_upload_part_urls",
    "multipart_upload_parts",
    "multipart_upload_verify",
    "multipart_uploads_cleanup",
    "multipart_uploads_complete_by_etags",
]
