"""``herald loan|repair|followup list`` (from Temporal visibility: overdue now, upcoming,
searched by id) and ``herald loan|followup notify ID`` without ``--kind`` (the next
notice, now): each a call of the service layer, nothing more."""

from __future__ import annotations

import argparse
import json
from typing import Any

# The CLI's object groups and the service layer's object kinds.
GROUPS = {"loan": "loan", "repair": "repair", "followup": "followup"}


def add_list_parser(group: Any, kind: str) -> None:
    """``herald KIND list``: one page of the kind's objects."""
    ls = group.add_parser("list", help=f"{kind}s from Temporal visibility: overdue, upcoming, all")
    which = ls.add_mutually_exclusive_group()
    which.add_argument(
        "--overdue",
        dest="state",
        action="store_const",
        const="overdue",
        help="running and past due"
        + (" (repairs: approved, no technician)" if kind == "repair" else ""),
    )
    which.add_argument(
        "--upcoming",
        dest="state",
        action="store_const",
        const="upcoming",
        help="running, not overdue",
    )
    which.add_argument(
        "--all", dest="state", action="store_const", const="all", help="running or closed (default)"
    )
    ls.add_argument("--search", metavar="ID", help="ids starting with ID, or ID's own objects")
    ls.add_argument("--limit", type=int, default=50, metavar="N", help="rows per page (1-200)")
    ls.add_argument("--page-token", metavar="TOKEN", help="the next page, as the last one said")
    ls.add_argument(
        "--no-reminders", action="store_true", help="do not ask each workflow for its next notice"
    )
    ls.add_argument("--json", action="store_true")


def handles(args: argparse.Namespace) -> bool:
    return args.command in GROUPS and getattr(args, "action", None) == "list"


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _line(row: Any) -> str:
    parts = [row.id, row.state or row.workflow_status]
    if row.person_id:
        parts.append(f"for {row.person_id}")
    if row.due_at:
        parts.append(f"due {row.due_at.isoformat()}")
    if row.next_reminder is not None:
        parts.append(f"next {row.next_reminder.kind} at {row.next_reminder.at.isoformat()}")
    elif row.next_reminder_at is not None:
        parts.append(f"next reminder at {row.next_reminder_at.isoformat()}")
    if row.overdue:
        parts.append("OVERDUE")
    if not row.running:
        parts.append(f"({row.workflow_status})")
    return "  ".join(parts)


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        page = await herald.objects(
            GROUPS[args.command],
            state=args.state or "all",
            search=args.search,
            limit=args.limit,
            page_token=args.page_token,
            reminders=not args.no_reminders,
        )
    finally:
        herald.close()
    if args.json:
        _print(page.model_dump(mode="json"))
        return 0
    for row in page.items:
        print(_line(row))
        if row.ui_url:
            print(f"    {row.ui_url}")
    if not page.items:
        print(f"no {page.state} {args.command}" if page.state != "all" else f"no {args.command}")
    if page.next_page_token:
        print(f"more: --page-token {page.next_page_token}")
    return 0
