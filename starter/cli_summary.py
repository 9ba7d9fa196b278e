"""``herald summary set|show``: the CRM's personal daily summary from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

COMMANDS = ("summary",)


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    summary = sub.add_parser(
        "summary",
        help="a person's own CRM summary every day at their hour (follow-ups, new leads)",
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)
    ss = summary.add_parser("set", help="choose the local hour, or off to stop it")
    ss.add_argument("subscriber_id")
    ss.add_argument("--at", required=True, metavar="HH:MM|off")
    sw = summary.add_parser("show", help="the hour, the next summary, what was sent")
    sw.add_argument("subscriber_id")
    for p in (ss, sw):
        p.add_argument("--json", action="store_true")


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        if args.action == "set":
            status = await herald.set_daily_summary(args.subscriber_id, at=args.at)
        else:
            status = await herald.daily_summary(args.subscriber_id)
        if args.json:
            print(json.dumps(status.model_dump(mode="json"), ensure_ascii=False, indent=2))
            return 0
        if status.at is None:
            print(f"{status.subscriber_id}: no daily summary")
            return 0
        line = f"{status.subscriber_id}: daily summary at {status.at} ({status.timezone})"
        if status.next_at is not None:
            line += f", next {status.next_at.isoformat()}"
        if args.action == "show":
            line += f"; {status.sent} sent, {status.skipped} days with nothing to say"
            if not status.running:
                line += "; not running: run 'herald summary set' again"
        print(line)
        if args.action == "show" and status.last_outcome:
            print(f"  last: {status.last_outcome}")
        return 0
    finally:
        herald.close()
