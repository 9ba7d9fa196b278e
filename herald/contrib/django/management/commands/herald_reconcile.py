from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from herald.contrib.django.reconcile import reconcile


class Command(BaseCommand):
    help = (
        'Compare the open loans of HERALD["OPEN_LOANS"] with Herald and repair the drift: '
        "start the missing ones, return the ones returned here but active in Herald."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="report the drift, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reconcile(apply=not options["dry_run"])
        for line in result.lines:
            self.stdout.write(line)
        self.stdout.write(result.summary)
