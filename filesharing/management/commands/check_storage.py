from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from filesharing.models import StorageCapabilities
from filesharing.services.storage import storage_probe


def describe(found: StorageCapabilities) -> list[str]:
    def says(flag: bool) -> str:
        return "yes" if flag else "no"

    return [
        f"S3 checks x-amz-checksum-sha256 on PUT: {says(found.verifies_sha256)}, "
        f"on parts: {says(found.verifies_part_sha256)}",
        f"S3 checks Content-MD5: {says(found.verifies_md5)}",
        f"S3 honours If-None-Match: {says(found.honours_if_none_match)} "
        "(every read names the verified version either way)",
        f"S3 enforces the bucket policy for unsigned requests: "
        f"{says(found.enforces_bucket_policy)}",
        f"S3 reports an object's tag count on HEAD: {says(found.reports_tag_count)} "
        "(verification reads tags only where there are some)",
        f"integrity path: {StorageCapabilities.IntegrityPath(found.integrity_path).label}",
    ]


class Command(BaseCommand):
    help = (
        "Probe what the S3 endpoint checks (SHA-256 and MD5 of PUTs and parts, If-None-Match, "
        "bucket policies for unsigned requests) and record it; seqvault's integrity path "
        "follows from the record."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            found = storage_probe()
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for line in describe(found):
            self.stdout.write(f"- {line}")
