"""``herald notify --title T --message M …`` (ad-hoc notices, ``--scheduled-for``,
``--dry-run``), ``herald notify cancel REQUEST_ID``, ``herald repair events TYPE ID…`` and
``herald deliveries resend ID``:
each a call of the service layer, nothing more."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any


def add_delivery_arguments(deliveries: argparse.ArgumentParser) -> None:
    """``herald deliveries [resend ID]``: the log, or a new attempt of a failed row."""
    deliveries.add_argument("action", nargs="?", choices=["resend"])
    deliveries.add_argument("id", nargs="?", type=int, help="the delivery to resend")
    deliveries.add_argument("--wait", action="store_true", help="wait for the new attempt")


def add_notify_arguments(notify: argparse.ArgumentParser) -> None:
    """``herald notify`` without a template: a title and a message."""
    notify.add_argument(
        "target", nargs="?", metavar="REQUEST_ID", help="with cancel: the notice to cancel"
    )
    notify.add_argument("--title", help="instead of a template: the notice's one-line title")
    notify.add_argument("--message", help="with --title: its text (newlines kept)")
    notify.add_argument("--data", help="with --title: JSON object, the application's data")
    notify.add_argument("--scheduled-for", metavar="ISO8601", help="send at this time")
    notify.add_argument(
        "--dry-run", action="store_true", help="who would get what on which channel; send nothing"
    )


def add_repair_parsers(repair: Any) -> None:
    """``herald repair events TYPE REPAIR_ID…``: one event naming several repairs."""
    many = repair.add_parser(
        "events", help="one status change of several repairs: one notice per person"
    )
    many.add_argument("type")
    many.add_argument("repair_ids", nargs="+", metavar="REPAIR_ID")
    many.add_argument("--event-id", help="the app's id for this event: a retry is then harmless")
    many.add_argument("--technician")
    many.add_argument("--reason")
    many.add_argument("--batch-id")
    many.add_argument("--batch-size", type=int)
    many.add_argument("--json", action="store_true")


def handles(args: argparse.Namespace) -> bool:
    if args.command == "repair":
        return getattr(args, "action", None) == "events"
    if args.command == "deliveries":
        return getattr(args, "action", None) == "resend"
    if args.command == "notify":
        return bool(
            args.title is not None
            or args.message is not None
            or args.dry_run
            or args.scheduled_for
            or args.target is not None
            or args.template is None
        )
    return False


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _object(text: str | None, flag: str) -> dict[str, Any] | None:
    from herald.errors import InvalidInput

    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as err:
        raise InvalidInput(f"{flag} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{flag} must be a JSON object")
    return value


def _instant(text: str | None) -> datetime | None:
    from herald.errors import InvalidInput

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--scheduled-for {text[:60]!r} is not an ISO 8601 date-time "
            "(e.g. 2026-12-14T09:00:00+01:00)"
        ) from None


async def _notify(args: argparse.Namespace) -> int:
    from herald.errors import InvalidInput
    from herald.settings import load_settings
    from starter.client import Herald

    cancel = args.template == "cancel" and args.target is not None
    if not cancel:
        if args.target is not None:
            raise InvalidInput("herald notify cancel REQUEST_ID: one request id, nothing else")
        if args.template is not None:
            raise InvalidInput(
                "give a template or --title and --message, not both"
                if args.title is not None
                else "--message, --data, --scheduled-for and --dry-run go with --title"
            )
        if args.title is None or args.message is None:
            raise InvalidInput("give a template, or --title and --message")
        if args.context != "{}":
            raise InvalidInput("--context goes with a template; with --title use --data")
    herald = await Herald.connect(load_settings())
    try:
        if cancel:
            done = await herald.cancel_notice(args.target)
            doc: dict[str, Any] = {**done.model_dump(mode="json"), "cancelled": True}
            _print(doc) if args.json else print(" ".join(f"{k}={v}" for k, v in doc.items()))
            return 0
        common: dict[str, Any] = {
            "user_ids": args.user,
            "group_names": args.group,
            "event": args.event,
            "data": _object(args.data, "--data"),
            "priority": args.priority,
            "channels": args.channel,
            "link": args.link,
            "scheduled_for": _instant(args.scheduled_for),
        }
        if args.dry_run:
            plan = await herald.preview_notice(args.title, args.message, **common)
            if args.json:
                _print(plan)
                return 0
            print(f"{plan['recipients']} people (dry run: nothing sent), at {plan['at']}")
            for d in plan["deliveries"]:
                why = f"  {d['reason']}" if d["reason"] else ""
                print(
                    f"{d['subscriber_id']:24} {d['channel']:9} {d['status']:10} "
                    f"{d['address'] or '-'}{why}"
                )
            if plan["listed"] < plan["recipients"]:
                print(f"… and {plan['recipients'] - plan['listed']} more")
            return 0
        request_id, result = await herald.create_notice(
            args.title, args.message, request_id=args.request_id, wait=args.wait, **common
        )
        doc = {"request_id": request_id, "workflow_id": f"notify-{request_id}"}
        if args.scheduled_for:
            doc["scheduled_for"] = args.scheduled_for
        if result is not None:
            doc.update(result.model_dump(mode="json"))
        _print(doc) if args.json else print(" ".join(f"{k}={v}" for k, v in doc.items()))
        return 0
    finally:
        herald.close()


async def _repair_events(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        rows = await herald.repair_events(
            args.repair_ids,
            args.type,
            event_id=args.event_id,
            technician_id=args.technician,
            reason=args.reason,
            batch_id=args.batch_id,
            batch_size=args.batch_size,
        )
        if args.json:
            _print(rows)
        for row in [] if args.json else rows:
            detail = f": {row['detail']}" if row["detail"] else ""
            print(f"{row['repair_id']:24} {row['outcome']}{detail}")
        return 0
    finally:
        herald.close()


async def run(args: argparse.Namespace) -> int:
    from herald.errors import InvalidInput
    from herald.settings import load_settings
    from starter.client import Herald

    if args.command == "notify":
        return await _notify(args)
    if args.command == "repair":
        return await _repair_events(args)
    if args.id is None:
        raise InvalidInput("herald deliveries resend ID: give the delivery's id")
    herald = await Herald.connect(load_settings())
    try:
        row = await herald.resend_delivery(args.id, actor="cli", wait=args.wait)
        if args.json:
            _print(row)
        else:
            print(
                f"#{row['id']} resend of #{row['resend_of']}: {row['kind']} to "
                f"{row['subscriber_id']} via {row['channel']} ({row['recipient']}): {row['status']}"
            )
        return 0
    finally:
        herald.close()
