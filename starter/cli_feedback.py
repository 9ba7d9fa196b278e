"""``herald suppression list|add|lift`` and ``herald delivery events ID``: the feedback
loop from the command line (each a call of the service layer, nothing more)."""

from __future__ import annotations

import argparse
import json
from typing import Any

COMMANDS = ("suppression", "delivery", "sms-spending")
CHANNELS = ("email", "sms", "whatsapp")


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    sup = sub.add_parser(
        "suppression", help="addresses Herald must not send to (bounces, complaints, STOP)"
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)
    sl = sup.add_parser("list", help="the suppression list, oldest first")
    sl.add_argument("--channel", choices=CHANNELS)
    sl.add_argument("--address")
    sl.add_argument("--all", action="store_true", help="lifted entries too")
    sl.add_argument("--limit", type=int, default=100)
    sl.add_argument("--json", action="store_true")
    sa = sup.add_parser("add", help="suppress an address on a channel")
    sa.add_argument("channel", choices=CHANNELS)
    sa.add_argument("address")
    sa.add_argument("--reason", required=True)
    sa.add_argument("--json", action="store_true")
    sx = sup.add_parser("lift", help="lift an address's suppression (the entry is kept)")
    sx.add_argument("channel", choices=CHANNELS)
    sx.add_argument("address")
    sx.add_argument("--reason")
    sx.add_argument("--json", action="store_true")
    delivery = sub.add_parser("delivery", help="one delivery").add_subparsers(
        dest="action", required=True, parser_class=parser_class
    )
    de = delivery.add_parser("events", help="what the provider reported about it")
    de.add_argument("id", type=int)
    de.add_argument("--json", action="store_true")
    sp = sub.add_parser("sms-spending", help="SMS sent and their estimated cost, per month")
    sp.add_argument("--months", type=int, default=6)
    sp.add_argument("--json", action="store_true")


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _line(row: dict[str, Any]) -> str:
    state = "active" if row["active"] else f"lifted {row['lifted_at']} by {row['lifted_by']}"
    source = f" [{row['source']}]" if row["source"] else ""
    return (
        f"{row['channel']:8} {row['address']:32} since {row['created_at']} by "
        f"{row['created_by']}: {row['reason']}{source} ({state})"
    )


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        if args.command == "sms-spending":
            months = await herald.sms_spending(months=args.months)
            if args.json:
                _print(months)
            for m in [] if args.json else months:
                budget = f" / budget {m['budget']:.2f}" if m["budget"] is not None else ""
                print(
                    f"{m['month']}  {m['messages']:6} SMS  {m['segments']:6} segments  "
                    f"{m['cost']:10.2f} {m['currency']}{budget}"
                )
            return 0
        if args.command == "delivery":
            events = await herald.delivery_events(args.id)
            if args.json:
                _print(events)
            for e in [] if args.json else events:
                reason = f" {e['reason']}" if e["reason"] else ""
                print(
                    f"{e['occurred_at']:32} {e['provider']:7} {e['provider_status']:28} "
                    f"-> {e['state'] or '(no change)'}{reason}"
                )
            return 0
        if args.action == "list":
            rows = await herald.suppressions(
                args.channel, args.address, include_lifted=args.all, limit=args.limit
            )
            if args.json:
                _print(rows)
            for row in [] if args.json else rows:
                print(_line(row))
            return 0
        if args.action == "add":
            row = await herald.suppress(args.channel, args.address, reason=args.reason, actor="cli")
        else:
            row = await herald.lift_suppression(
                args.channel, args.address, reason=args.reason, actor="cli"
            )
        if args.json:
            _print(row)
        else:
            print(_line(row))
        return 0
    finally:
        herald.close()
