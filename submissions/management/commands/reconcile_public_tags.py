from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from submissions.services import public_tags_reconcile


class Command(BaseCommand):
    help = (
        "Make S3's public=true tags agree with the database now (the hourly job): files of "
        "released entries tagged and released, no other file tagged; and a bounded slice of the "
        "sweep of object versions that no file owns."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = public_tags_reconcile()
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        sweep = report.stray_sweep
        where = (
            "a pass of the bucket completed"
            if sweep.pass_completed
            else f"the next run starts with {sweep.next_key!r}"
        )
        self.stdout.write(
            f"checked {report.checked} file(s): {len(report.released)} released, "
            f"{len(report.tagged)} tagged, {len(report.untagged)} untagged, "
            f"{len(report.unreadable)} unreadable; {len(sweep.removed)} stray object "
            f"version(s) removed of {sweep.listed} listed ({where})"
        )
        for file_id in report.unreadable:
            self.stderr.write(f"unreadable object: file {file_id}")
