from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from filesharing.services.storage_check import files_mark_missing_objects


class Command(BaseCommand):
    help = (
        "Compare verified files with what the bucket holds: a file whose recorded object "
        "version is gone becomes failed (with the reason and an audit row)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--report-all", action="store_true", help="list every file marked")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = files_mark_missing_objects()
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if not report.marked:
            self.stdout.write(f"Storage check: {report.checked} verified files, all objects found.")
            return
        self.stdout.write(
            self.style.WARNING(
                f"Storage check: {len(report.marked)} of {report.checked} verified files have "
                "lost their object and are now failed."
            )
        )
        for file_id in report.marked if options["report_all"] else report.marked[:20]:
            self.stdout.write(f"  {file_id}")
