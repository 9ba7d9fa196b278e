"""``herald inbox list|count|read|unread|archive|unarchive``: a person's in-app notifications from the
command line (each a call of the service layer, nothing more)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from herald.errors import InvalidInput
from herald.kinds import CATEGORIES

COMMAND = "inbox"


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    inbox = sub.add_parser(COMMAND, help="a person's in-app notifications").add_subparsers(
        dest="action", required=True, parser_class=parser_class
    )
    il = inbox.add_parser("list", help="unread first, newest first")
    il.add_argument("id")
    il.add_argument("--page", type=int, default=1)
    il.add_argument("--page-size", type=int, default=20)
    state = il.add_mutually_exclusive_group()
    state.add_argument("--unread", action="store_true", help="only unread notifications")
    state.add_argument("--read", action="store_true", help="only read notifications")
    il.add_argument("--category", choices=CATEGORIES, help="only this category")
    il.add_argument("--search", metavar="TEXT", help="text in the title or body, any case")
    il.add_argument("--archived", action="store_true", help="the archived notifications")
    il.add_argument("--json", action="store_true")
    ic = inbox.add_parser("count", help="how many are unread (archived ones left out)")
    ic.add_argument("id")
    ic.add_argument("--json", action="store_true")
    ir = inbox.add_parser("read", help="mark notifications read")
    ir.add_argument("id")
    target = ir.add_mutually_exclusive_group(required=True)
    target.add_argument("--notification", type=int, action="append", metavar="N")
    target.add_argument("--all", action="store_true")
    ir.add_argument("--json", action="store_true")
    iu = inbox.add_parser("unread", help="mark read notifications unread again")
    iu.add_argument("id")
    iu.add_argument("notifications", type=int, nargs="+", metavar="N")
    iu.add_argument("--json", action="store_true")
    ia = inbox.add_parser("archive", help="archive notifications: out of the list, still kept")
    ia.add_argument("id")
    ia.add_argument("notifications", type=int, nargs="*", metavar="N")
    ia.add_argument("--all", action="store_true", help="all of the person's notifications")
    ia.add_argument("--json", action="store_true")
    iz = inbox.add_parser("unarchive", help="restore archived notifications to the list")
    iz.add_argument("id")
    iz.add_argument("notifications", type=int, nargs="*", metavar="N")
    iz.add_argument("--all", action="store_true", help="all of the person's archived ones")
    iz.add_argument("--json", action="store_true")


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _changed(doc: dict[str, Any], what: str, as_json: bool) -> None:
    if as_json:
        _print(doc)
        return
    print(f"{doc['changed']} notification(s) {what}")
    if doc["unknown"]:
        ids = " ".join(f"#{n}" for n in doc["unknown"])
        print(f"not {doc['subscriber_id']}'s notifications, left alone: {ids}")


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    if args.action in ("archive", "unarchive") and bool(args.notifications) == bool(args.all):
        raise InvalidInput(f"give the notification numbers to {args.action}, or --all")
    herald = await Herald.connect(load_settings())
    try:
        if args.action == "list":
            rows = await herald.inbox(
                args.id,
                page=args.page,
                page_size=args.page_size,
                read=True if args.read else False if args.unread else None,
                category=args.category,
                archived=args.archived,
                search=args.search,
            )
            if args.json:
                _print(rows)
            for r in [] if args.json else rows:
                mark = " " if r["read"] else "*"
                print(f"{mark} #{r['id']:<6} {r['created_at'][:16]} {r['priority']:7} {r['title']}")
        elif args.action == "count":
            count = await herald.unread_count(args.id)
            _print({"subscriber_id": args.id, "unread": count}) if args.json else print(count)
        elif args.action == "read":
            changed = await herald.mark_read(args.id, None if args.all else args.notification)
            if args.json:
                _print({"subscriber_id": args.id, "marked_read": changed})
            else:
                print(f"{changed} notification(s) marked read")
        elif args.action == "unread":
            _changed(await herald.mark_unread(args.id, args.notifications), "unread", args.json)
        elif args.action == "archive":
            ids = None if args.all else args.notifications
            _changed(await herald.archive(args.id, ids), "archived", args.json)
        else:
            ids = None if args.all else args.notifications
            _changed(await herald.unarchive(args.id, ids), "restored", args.json)
        return 0
    finally:
        herald.close()
