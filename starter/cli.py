"""``herald``: the command line for people, scripts and ops.

Exit status: 0 on success, 2 on invalid input (one line on stderr), 1 on other failures.
``--json`` prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

from herald.contracts import LoanStatus
from herald.errors import InvalidInput, NotFound
from herald.kinds import KINDS, OPTIONAL_KINDS
from herald.settings import load_settings

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit 2: what scripts and people need to fix the call.
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with an offset (``2026-12-01T10:00:00+01:00`` or ``...Z``)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"invalid date-time {value!r}: use ISO 8601, e.g. 2026-12-01T10:00:00+01:00"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"date-time {value!r} has no time zone offset (add +01:00 or Z)")
    return parsed


def _on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def _reminder_toggles(values: Sequence[str]) -> dict[str, bool]:
    toggles: dict[str, bool] = {}
    for item in values:
        kind, sep, state = item.partition("=")
        if not sep or state not in ("on", "off"):
            raise InvalidInput(f"--reminder takes KIND=on|off, got {item!r}")
        kind = kind if "." in kind else f"loan.{kind}"
        if kind in KINDS and kind not in OPTIONAL_KINDS:
            raise InvalidInput(
                f"{kind} cannot be switched off: confirmations, overdue alerts and return notices "
                "always reach at least one channel"
            )
        if kind not in OPTIONAL_KINDS:
            raise InvalidInput(
                f"unknown reminder {kind!r}: choose among {', '.join(OPTIONAL_KINDS)}"
            )
        toggles[kind] = state == "on"
    return toggles


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _print_status(status: LoanStatus) -> None:
    print(
        f"loan {status.loan_id}: {status.state.value} ({status.loan_class}, policy {status.policy})"
    )
    print(f"  item:      {status.item}")
    print(
        f"  borrower:  {status.borrower_id}"
        + (f"  manager: {status.manager_id}" if status.manager_id else "")
    )
    print(f"  due:       {status.due_at.isoformat()} (zone {status.timezone})")
    if status.next_reminder:
        print(f"  next:      {status.next_reminder.kind} at {status.next_reminder.at.isoformat()}")
    if status.returned_at:
        late = (
            f", {status.late_by_seconds // 60} min late" if status.late_by_seconds else ", on time"
        )
        print(f"  returned:  {status.returned_at.isoformat()}{late}")
    for rec in status.notifications:
        outcome = rec.skipped_reason or ", ".join(f"{c}={s.value}" for c, s in rec.channels.items())
        print(f"  - {rec.planned_at:%Y-%m-%d %H:%M} {rec.kind} → {rec.role.value}: {outcome}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="herald", description="Durable notifications on Temporal.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    dev = sub.add_parser(
        "dev", help="run the embedded stack: Temporal dev server, migrations, worker"
    )
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--demo", action="store_true", help="also start the demo loans")
    sub.add_parser("worker", help="run a worker (migrates the database first)")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("setup", help="migrate and register search attributes (idempotent)")
    sub.add_parser("doctor", help="check Temporal, search attributes and the database")
    demo = sub.add_parser("demo", help="start demo loans whose reminders fire within minutes")
    demo.add_argument("--no-follow", action="store_true", help="start the loans and exit")

    subscriber = sub.add_parser("subscriber", help="people Herald notifies").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    up = subscriber.add_parser("upsert", help="create or update a person")
    up.add_argument("id")
    up.add_argument("--name")
    up.add_argument("--email")
    up.add_argument("--phone")
    up.add_argument("--whatsapp")
    up.add_argument("--locale", choices=["fr", "en"])
    up.add_argument("--timezone")
    up.add_argument("--json", action="store_true")
    show = subscriber.add_parser("show")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")

    prefs = sub.add_parser("prefs", help="notification preferences").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    ps = prefs.add_parser("set")
    ps.add_argument("id")
    for ch in ("email", "sms", "whatsapp", "in-app"):
        ps.add_argument(f"--{ch}", choices=["on", "off"])
    ps.add_argument("--reminder", action="append", default=[], metavar="KIND=on|off")
    ps.add_argument("--json", action="store_true")
    pshow = prefs.add_parser("show")
    pshow.add_argument("id")
    pshow.add_argument("--json", action="store_true")

    loan = sub.add_parser(
        "loan", help="start, return, extend, cancel, inspect loans"
    ).add_subparsers(dest="action", required=True, parser_class=_Parser)
    ls = loan.add_parser("start")
    ls.add_argument("loan_id")
    ls.add_argument("--borrower", required=True)
    ls.add_argument("--item", required=True)
    ls.add_argument("--due", required=True, type=str)
    ls.add_argument("--borrowed-at")
    ls.add_argument("--manager")
    ls.add_argument("--json", action="store_true")
    lr = loan.add_parser("return")
    lr.add_argument("loan_id")
    lr.add_argument("--at")
    lr.add_argument(
        "--no-wait", action="store_true", help="record the return without waiting for a worker"
    )
    lr.add_argument("--json", action="store_true")
    le = loan.add_parser("extend")
    le.add_argument("loan_id")
    le.add_argument("--due", required=True)
    le.add_argument("--json", action="store_true")
    lc = loan.add_parser("cancel")
    lc.add_argument("loan_id")
    lst = loan.add_parser("status")
    lst.add_argument("loan_id")
    lst.add_argument("--json", action="store_true")

    inbox = sub.add_parser("inbox", help="a person's in-app notifications").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    il = inbox.add_parser("list", help="unread first, newest first")
    il.add_argument("id")
    il.add_argument("--page", type=int, default=1)
    il.add_argument("--page-size", type=int, default=20)
    il.add_argument("--unread", action="store_true", help="only unread notifications")
    il.add_argument("--json", action="store_true")
    ic = inbox.add_parser("count", help="how many are unread")
    ic.add_argument("id")
    ic.add_argument("--json", action="store_true")
    ir = inbox.add_parser("read", help="mark notifications read")
    ir.add_argument("id")
    target = ir.add_mutually_exclusive_group(required=True)
    target.add_argument("--notification", type=int, action="append", metavar="N")
    target.add_argument("--all", action="store_true")
    ir.add_argument("--json", action="store_true")

    d = sub.add_parser("deliveries", help="the delivery log")
    d.add_argument("--loan")
    d.add_argument("--json", action="store_true")
    return p


async def _with_client(fn: Callable[[Any], Awaitable[int]]) -> int:
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        return await fn(herald)
    finally:
        herald.close()


async def _subscriber(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.action == "upsert":
            fields = {
                k: getattr(args, k)
                for k in ("name", "email", "phone", "whatsapp", "locale", "timezone")
                if getattr(args, k) is not None
            }
            contact = await h.upsert_subscriber(args.id, **fields)
        else:
            contact = await h.get_subscriber(args.id)
        doc = contact.__dict__
        if args.json:
            _print_json(doc)
        else:
            print(", ".join(f"{k}={v}" for k, v in doc.items() if v is not None))
        return EXIT_OK

    return await _with_client(go)


async def _prefs(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.action == "set":
            prefs = await h.set_preferences(
                args.id,
                email=_on_off(args.email),
                sms=_on_off(args.sms),
                whatsapp=_on_off(args.whatsapp),
                in_app=_on_off(args.in_app),
                reminders=_reminder_toggles(args.reminder),
            )
        else:
            prefs = await h.get_preferences(args.id)
        doc = {"subscriber_id": args.id, **prefs.__dict__}
        if args.json:
            _print_json(doc)
        else:
            kinds = " ".join(
                f"{k}={'on' if prefs.kind_enabled(k) else 'off'}" for k in OPTIONAL_KINDS
            )
            print(
                f"{args.id}: email={'on' if prefs.email else 'off'} sms={'on' if prefs.sms else 'off'} "
                f"whatsapp={'on' if prefs.whatsapp else 'off'} {kinds}"
            )
        return EXIT_OK

    return await _with_client(go)


async def _loan(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.action == "start":
            started = await h.start_loan(
                args.loan_id,
                borrower_id=args.borrower,
                item=args.item,
                due_at=parse_instant(args.due),
                borrowed_at=parse_instant(args.borrowed_at) if args.borrowed_at else None,
                manager_id=args.manager,
            )
            if args.json:
                _print_json(started.__dict__)
            else:
                verb = "started" if started.created else "already running"
                print(f"loan {args.loan_id} {verb}: workflow {started.workflow_id}")
            return EXIT_OK
        if args.action == "cancel":
            await h.cancel_loan(args.loan_id)
            print(f"loan {args.loan_id} cancelled")
            return EXIT_OK
        if args.action == "return":
            at = parse_instant(args.at) if args.at else None
            status = await h.return_loan(args.loan_id, returned_at=at, wait=not args.no_wait)
            if status is None:
                if args.json:
                    _print_json({"loan_id": args.loan_id, "return_recorded": True})
                else:
                    print(f"return of loan {args.loan_id} recorded")
                return EXIT_OK
        elif args.action == "extend":
            status = await h.extend_loan(args.loan_id, due_at=parse_instant(args.due))
        else:
            status = await h.loan_status(args.loan_id)
        if args.json:
            _print_json(status.model_dump(mode="json"))
        else:
            _print_status(status)
        return EXIT_OK

    return await _with_client(go)


async def _inbox(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.action == "list":
            rows = await h.inbox(
                args.id, page=args.page, page_size=args.page_size, unread_only=args.unread
            )
            if args.json:
                _print_json(rows)
            for r in [] if args.json else rows:
                mark = " " if r["read"] else "*"
                print(f"{mark} #{r['id']:<6} {r['created_at'][:16]} {r['priority']:7} {r['title']}")
            return EXIT_OK
        if args.action == "count":
            count = await h.unread_count(args.id)
            _print_json({"subscriber_id": args.id, "unread": count}) if args.json else print(count)
            return EXIT_OK
        changed = await h.mark_read(args.id, None if args.all else args.notification)
        if args.json:
            _print_json({"subscriber_id": args.id, "marked_read": changed})
        else:
            print(f"{changed} notification(s) marked read")
        return EXIT_OK

    return await _with_client(go)


async def _deliveries(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        rows = await h.deliveries(args.loan)
        if args.json:
            _print_json(rows)
            return EXIT_OK
        for r in rows:
            detail = r["error"] or r["provider_message_id"] or ""
            print(
                f"{r['scheduled_at'] or '-':32} {r['subject_id']:>10} {r['kind']:18} {r['role']:8} "
                f"{r['channel']:9} {r['status']:18} x{r['attempts']} {r['recipient'] or '-'} {detail}"
            )
        return EXIT_OK

    return await _with_client(go)


async def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "dev":
        from herald.devstack import run_dev

        return await run_dev(load_settings(), port=args.port, ui_port=args.ui_port, demo=args.demo)
    if args.command == "worker":
        from worker import run_worker

        await run_worker(load_settings())
        return EXIT_OK
    if args.command in ("migrate", "setup", "doctor"):
        from herald import ops

        return await getattr(ops, args.command)(load_settings())
    if args.command == "demo":
        from herald.demo import run_demo

        return await run_demo(load_settings(), follow=not args.no_follow)
    handler = {
        "subscriber": _subscriber,
        "prefs": _prefs,
        "loan": _loan,
        "deliveries": _deliveries,
        "inbox": _inbox,
    }[args.command]
    return await handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings_level = "INFO" if args.command in ("dev", "worker") else "WARNING"
    logging.basicConfig(
        level=settings_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(_dispatch(args))
    except (InvalidInput, NotFound) as err:
        print(f"herald: error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        print(f"herald: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_FAILURE


def entrypoint() -> NoReturn:
    """The ``herald`` console script.

    Exits with ``os._exit`` once output is flushed: the Temporal client's native threads can
    outlive interpreter teardown and abort it (temporalio/sdk-python#300), which would turn
    a successful command into a crash. All work and cleanup is done by then.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entrypoint()
