from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from filesharing import s3


class Command(BaseCommand):
    help = (
        "Prepare the S3 bucket (idempotent): create it, enable versioning, CORS for the web "
        "origins exposing ETag, public read of objects tagged public=true, and a lifecycle rule "
        "aborting multipart uploads older than 7 days."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            steps = s3.bucket_setup(web_origins=settings.WEB_ORIGINS)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for step in steps:
            self.stdout.write(f"- {step}")
        self.stdout.write(self.style.SUCCESS(f"Bucket {s3.bucket()} is ready."))
