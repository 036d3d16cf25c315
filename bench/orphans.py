"""The orphaned-files report over a seeded database, beside the anti-join the report used to
run (every verified file against every attachment), and the files admin's orphaned filter page
beside its unfiltered page, interleaved.

    .venv/bin/python manage.py seed_large_database          # 1,000,000 files, once
    DATABASE_URL=postgres://…/that-db .venv/bin/python -m bench.orphans [--rounds 3]

Each report run stores a report (its rows included) and sends its mails to Django's in-memory
outbox; nothing is removed (cleanup off).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.servers import ROOT, print_spreads


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Exists, OuterRef, Q
    from django.test import Client
    from django.utils import timezone

    from filesharing.models import File
    from submissions.models import EntryFile
    from submissions.services import orphaned_files_report, orphaned_files_report_mail_all
    from tests.factories import UserFactory

    settings.ALLOWED_HOSTS = ["*"]
    total = File.objects.count()
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    def anti_join() -> int:
        cutoff = timezone.now() - settings.ORPHAN_RETENTION
        cited = Exists(EntryFile.objects.filter(file_id=OuterRef("pk")))
        return (
            File.objects.filter(
                Q(status="verified", deleted_at__isnull=True, verified_at__lt=cutoff), ~Q(cited)
            )
            .select_related("group", "uploader")
            .count()
        )

    def page(url: str) -> Callable[[], int]:
        def get() -> int:
            response = admin.get(url)
            assert response.status_code == 200, response.status_code
            return len(response.content)

        return get

    page("/admin/filesharing/file/?state=orphaned")()  # warm templates and caches
    runs: dict[str, list[float]] = {
        "anti-join count (old)": [],
        "orphan report": [],
        "its mails (own task)": [],
        "admin page, unfiltered": [],
        "admin page, orphaned": [],
    }
    found = 0
    for round_number in range(args.rounds):
        old, _ = timed(anti_join)
        report_time, report = timed(lambda: orphaned_files_report(cleanup=False, mail=False))
        mail_time, _ = timed(partial(orphaned_files_report_mail_all, report=report))
        unfiltered, _ = timed(page("/admin/filesharing/file/"))
        orphaned, _ = timed(page("/admin/filesharing/file/?state=orphaned"))
        found = report.file_count
        values = (old, report_time, mail_time, unfiltered, orphaned)
        for name, value in zip(runs, values, strict=True):
            runs[name].append(value * 1000)
        print(
            f"round {round_number + 1}: old anti-join {old * 1000:.0f} ms, report "
            f"{report_time * 1000:.0f} ms ({report.file_count} orphans, "
            f"mails {mail_time * 1000:.0f} ms to {len(report.mailed_to)} admins), "
            f"admin {unfiltered * 1000:.0f} ms, "
            f"admin orphaned {orphaned * 1000:.0f} ms",
            flush=True,
        )
    heading = f"{total:,} files, {found:,} orphaned, {args.rounds} rounds, ms min/median/max"
    print_spreads(heading, runs, 24)
    return 0


if __name__ == "__main__":
    sys.exit(main())
