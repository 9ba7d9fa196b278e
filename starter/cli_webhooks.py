"""``herald webhook add|list|enable|disable|remove|rotate-secret|test|attempts``: the
application's endpoints for Herald's events (light: the client is imported when one runs)."""

from __future__ import annotations

import argparse
import json
from typing import Any

COMMAND = "webhook"


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser(
        COMMAND, help="endpoints of the application that receive Herald's events"
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)
    add = hooks.add_parser("add", help="register an endpoint; prints its secret (once)")
    add.add_argument("url")
    add.add_argument(
        "--events",
        required=True,
        metavar="TYPE,TYPE",
        help="comma-separated event types (delivery.sent, loan.overdue, ...; an unknown one "
        "is refused with the list), or * for all",
    )
    add.add_argument("--description")
    add.add_argument("--json", action="store_true")
    listing = hooks.add_parser("list", help="every endpoint (never the secrets)")
    listing.add_argument("--json", action="store_true")
    for verb, text in (
        ("enable", "send to it again (its failure count starts from zero)"),
        ("disable", "stop sending to it"),
        ("remove", "delete it and its attempts"),
        ("rotate-secret", "a new secret, printed once"),
        ("test", "send it a webhook.test event"),
    ):
        one = hooks.add_parser(verb, help=text)
        one.add_argument("id")
        one.add_argument("--json", action="store_true")
    attempts = hooks.add_parser("attempts", help="an endpoint's last POSTs, newest first")
    attempts.add_argument("id")
    attempts.add_argument("--limit", type=int, default=50)
    attempts.add_argument("--json", action="store_true")


def _print(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _line(e: dict[str, Any]) -> str:
    state = "enabled" if e["enabled"] else f"disabled ({e['disabled_reason'] or '-'})"
    return (
        f"{e['id']}  {e['url']}  {','.join(e['events'])}  {state}, "
        f"{e['consecutive_failures']} failures in a row"
        + (f"  {e['description']}" if e["description"] else "")
    )


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        return await _run(herald, args)
    finally:
        herald.close()


async def _run(h: Any, args: argparse.Namespace) -> int:
    action = args.action
    if action == "add":
        events = [e.strip() for e in args.events.split(",") if e.strip()]
        doc = await h.add_webhook(args.url, events=events, description=args.description)
        if args.json:
            _print(doc)
        else:
            print(doc["secret"])
            print(
                f"webhook endpoint {doc['id']} added for {', '.join(doc['events'])}: the "
                "secret above is shown only now, keep it to verify the signatures",
                flush=True,
            )
    elif action == "list":
        rows = await h.webhooks()
        if args.json:
            _print(rows)
        for e in [] if args.json else rows:
            print(_line(e))
    elif action in ("enable", "disable"):
        doc = await (h.enable_webhook if action == "enable" else h.disable_webhook)(args.id)
        _print(doc) if args.json else print(_line(doc))
    elif action == "remove":
        await h.remove_webhook(args.id)
        _print({"id": args.id, "removed": True}) if args.json else print(f"{args.id} removed")
    elif action == "rotate-secret":
        doc = await h.rotate_webhook_secret(args.id)
        if args.json:
            _print(doc)
        else:
            print(doc["secret"])
            print(f"new secret of {doc['id']}: shown only now; it signs every POST from now on")
    elif action == "test":
        doc = await h.test_webhook(args.id)
        if args.json:
            _print(doc)
        else:
            print(f"test event {doc['event_id']} sent to {args.id} (workflow {doc['workflow_id']})")
    else:
        rows = await h.webhook_attempts(args.id, limit=args.limit)
        if args.json:
            _print(rows)
        for a in [] if args.json else rows:
            outcome = "ok" if a["succeeded"] else (a["error"] or "failed")
            print(
                f"{a['at'][:19]}  {a['event_id']}  #{a['attempt']:<3} "
                f"{a['status_code'] or '-':>3}  {a['duration_ms']} ms  {outcome}"
            )
    return 0
