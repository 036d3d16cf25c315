from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from filesharing import s3
from filesharing.management.commands.check_storage import describe
from filesharing.services.storage import storage_probe

OWNER_UNSET = (
    "WARNING: S3_OWNER_PRINCIPAL_ARN is not set, so the bucket policy does not keep other "
    "principals of this store (other users, temporary credentials) from changing tags and "
    "ACLs; set it to the ARN of seqvault's own credentials (docs/operations.md, \"Only "
    'seqvault tags").'
)


class Command(BaseCommand):
    help = (
        "Prepare the S3 bucket (idempotent): create it, enable versioning, CORS for the web "
        "origins exposing ETag, public read of objects tagged public=true, and a lifecycle rule "
        "aborting multipart uploads older than 7 days; then probe and record what S3 checks."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            steps = s3.bucket_setup(web_origins=settings.WEB_ORIGINS)
            found = storage_probe()
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for step in steps:
            self.stdout.write(f"- {step}")
        if not settings.S3_OWNER_PRINCIPAL_ARN:
            self.stdout.write(self.style.WARNING(OWNER_UNSET))
        for line in describe(found):
            self.stdout.write(f"- {line}")
        self.stdout.write(self.style.SUCCESS(f"Bucket {s3.bucket()} is ready."))
