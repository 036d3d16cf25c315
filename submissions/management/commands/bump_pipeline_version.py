from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from submissions.organisms import organism_get
from submissions.services import pipeline_version_bump


class Command(BaseCommand):
    help = (
        "Make a newer preprocessing pipeline version current for an organism. Unreleased "
        "entries it has not processed go back to RECEIVED for it; nothing is unpublished."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organism", help="Default: the default organism.")
        parser.add_argument("--to", type=int, help="The new version (default: current + 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organism = organism_get(options["organism"])
            row = pipeline_version_bump(organism=organism.name, actor=None, to=options["to"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Organism {row.organism}: pipeline version {row.version}.")
        )
