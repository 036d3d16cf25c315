from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "What `make run` does before serving, in one process: migrate, prepare the bucket, "
        "check that every verified file's object is still stored, create the demo accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--token-file", type=Path, required=True)
        parser.add_argument("--pipeline-token-file", type=Path, required=True)
        parser.add_argument("--report-all", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_bucket", stdout=self.stdout)
        call_command("reconcile_storage", report_all=options["report_all"], stdout=self.stdout)
        call_command(
            "demo_setup",
            base_url=options["base_url"],
            token_file=options["token_file"],
            pipeline_token_file=options["pipeline_token_file"],
            stdout=self.stdout,
        )
