from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from herald.contrib.django.relay import Relay


class Command(BaseCommand):
    help = "Deliver the Herald outbox: in order per object, retrying with backoff."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="deliver what is due now, then exit"
        )
        parser.add_argument(
            "--poll", type=float, default=None, help="seconds between looks when idle"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        relay = Relay()
        try:
            if options["once"]:
                report = relay.drain()
                self.stdout.write(str(report))
                for failure in report.failures:
                    self.stdout.write(f"failed: {failure}")
                return
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: relay.stop())
            self.stdout.write("Herald relay running (Ctrl-C to stop)")
            relay.run(options["poll"])
        finally:
            relay.close()
