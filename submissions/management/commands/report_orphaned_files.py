from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from submissions.services import orphaned_files_report


class Command(BaseCommand):
    help = (
        "Report verified files attached to nothing for longer than ORPHAN_RETENTION_DAYS (the "
        "daily job), mail each group's admins, and with cleanup on remove files marked before."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--cleanup",
            action="store_true",
            default=None,
            help="Mark and remove as with ORPHAN_CLEANUP_ENABLED, whatever the setting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = orphaned_files_report(cleanup=options["cleanup"])
        self.stdout.write(
            f"report {report.pk}: {report.file_count} orphaned file(s), {report.total_bytes} "
            f"bytes, {report.removed_count} removed, mailed to {len(report.mailed_to)} admin(s)"
        )
