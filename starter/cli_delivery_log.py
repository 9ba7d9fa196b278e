"""``herald deliveries`` (the log, filtered, paged or counted), ``herald test CHANNEL
ADDRESS`` (a test message through the channel's providers) and the built-in kinds of
``herald template preview``: each a call of the service layer, nothing more."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from starter import cli_notices

COMMANDS = ("deliveries", "test")
TEST_CHANNELS = ("email", "sms", "whatsapp")
FORMATS = ("html", "text", "short", "inbox")


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("deliveries", help="the delivery log, filtered, paged or counted")
    d.add_argument("--loan", metavar="LOAN_ID")
    d.add_argument("--status", help="pending, sent, failed, permanently_failed, skipped, …")
    d.add_argument("--channel", help="email, sms, whatsapp or in_app")
    d.add_argument("--kind", help="a notification kind, e.g. loan.overdue")
    d.add_argument("--subscriber", metavar="ID", help="one person's rows")
    d.add_argument("--since", metavar="ISO8601", help="rows created at or after")
    d.add_argument("--until", metavar="ISO8601", help="rows created before")
    d.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    d.add_argument("--after", type=int, metavar="ID", help="rows after this id (paging)")
    d.add_argument("--summary", action="store_true", help="counts by status and by channel")
    d.add_argument("--json", action="store_true")
    cli_notices.add_delivery_arguments(d)  # herald deliveries resend ID
    t = sub.add_parser("test", help="send a test message through a channel's providers")
    t.add_argument("channel", choices=TEST_CHANNELS)
    t.add_argument("address", help="e-mail address or phone number")
    t.add_argument("--json", action="store_true")


def add_preview_arguments(parser: argparse.ArgumentParser) -> None:
    """``herald template preview``'s options for a built-in kind."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="built-in kinds: html, text (default), short (SMS, WhatsApp) or inbox (in-app)",
    )


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _instant(value: str | None) -> datetime | None:
    from starter.cli import parse_instant

    return parse_instant(value) if value is not None else None


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "status": args.status,
        "channel": args.channel,
        "kind": args.kind,
        "subscriber_id": args.subscriber,
        "since": _instant(args.since),
        "until": _instant(args.until),
    }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "-"


async def _deliveries(herald: Any, args: argparse.Namespace) -> int:
    if args.summary:
        if args.limit is not None or args.after is not None:
            from herald.errors import InvalidInput

            raise InvalidInput("--summary counts every matching row: no --limit or --after")
        doc = await herald.delivery_summary(args.loan, **_filters(args))
        if args.json:
            _print(doc)
        else:
            print(f"total      {doc['total']}")
            print(f"by status  {_counts(doc['by_status'])}")
            print(f"by channel {_counts(doc['by_channel'])}")
        return 0
    rows = await herald.deliveries(args.loan, after=args.after, limit=args.limit, **_filters(args))
    if args.json:
        _print(rows)
        return 0
    for r in rows:
        detail = r["error"] or r["provider_reason"] or r["provider_message_id"] or ""
        life = " > ".join(f"{s['state']} {s['at'][11:19]}" for s in r["life"])
        print(
            f"{r['scheduled_at'] or '-':32} {r['subject_id']:>10} {r['kind']:18} {r['role']:8} "
            f"{r['channel']:9} {r['status']:18} x{r['attempts']} {r['recipient'] or '-'} {detail}"
        )
        if life:
            print(f"{'':32} #{r['id']} {life}")
    return 0


async def _test(herald: Any, args: argparse.Namespace) -> int:
    doc = await herald.test_send(args.channel, args.address)
    if args.json:
        _print(doc)
    else:
        print(
            f"{doc['channel']} test to {doc['address']}: sent via {doc['provider']}, "
            f"message id {doc['message_id'] or '-'}"
        )
    return 0


async def preview_kind(herald: Any, args: argparse.Namespace) -> int:
    """``herald template preview KIND``: a built-in kind with sample facts."""
    if args.context.strip() not in ("", "{}"):
        from herald.errors import InvalidInput

        raise InvalidInput(
            f"{args.name} is a built-in kind, previewed with sample facts: --context is for "
            "admin templates"
        )
    doc = await herald.preview_kind(args.name, locale=args.locale, format=args.format or "text")
    if args.json:
        _print(doc)
    else:
        source = " (from HERALD_TEMPLATES_DIR)" if doc["overridden"] else ""
        print(f"{doc['subject']}{source}\n\n{doc['body']}")
    return 0


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        if args.command == "deliveries":
            return await _deliveries(herald, args)
        return await _test(herald, args)
    finally:
        herald.close()
