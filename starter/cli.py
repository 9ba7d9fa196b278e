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
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from herald.api import commands as api_commands
from herald.errors import HeraldError, InvalidInput, NotFound
from herald.kinds import (
    ALL_CHANNELS,
    CATEGORIES,
    KINDS,
    LEAD_EVENTS,
    OPTIONAL_KINDS,
    USER_EVENTS,
)
from herald.validation import LIMITS, show
from starter import (
    cli_delivery_log,
    cli_feedback,
    cli_groups,
    cli_inbox,
    cli_notices,
    cli_operations,
    cli_staff_channels,
    cli_summary,
    cli_verify,
    cli_webhooks,
)

if TYPE_CHECKING:
    from herald.contracts import LoanStatus, NotificationRecord
    from herald.settings import Settings

# Start-up stays light: the commands import what they use (the Temporal client, the
# database, the web stack) when they run, so `herald --help` costs a parser, not a stack.


def load_settings() -> Settings:
    from herald.settings import load_settings

    return load_settings()


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
            f"invalid date-time {show(value)}: use ISO 8601, e.g. 2026-12-01T10:00:00+01:00"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"date-time {show(value)} has no time zone offset (add +01:00 or Z)")
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


def _category_toggles(values: Sequence[str]) -> dict[str, bool | list[str]]:
    """``leads=off``, ``leads=on`` or ``leads=in_app+email`` (only those channels)."""
    toggles: dict[str, bool | list[str]] = {}
    for item in values:
        category, sep, state = item.partition("=")
        if not sep or not state:
            raise InvalidInput(f"--category takes CATEGORY=on|off|CHANNEL[+CHANNEL…], got {item!r}")
        toggles[category] = state == "on" if state in ("on", "off") else state.split("+")
    return toggles


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _print_records(records: Sequence[NotificationRecord]) -> None:
    for rec in records:
        outcome = rec.skipped_reason or ", ".join(f"{c}={s.value}" for c, s in rec.channels.items())
        print(f"  - {rec.planned_at:%Y-%m-%d %H:%M} {rec.kind} → {rec.role.value}: {outcome}")


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
    _print_records(status.notifications)


def _crm_event_parser(group: Any, id_name: str, types: tuple[str, ...]) -> argparse.ArgumentParser:
    """``herald lead|user event ID TYPE`` with the options every CRM event has."""
    parser: argparse.ArgumentParser = group.add_parser("event", help=", ".join(types))
    parser.add_argument(id_name)
    parser.add_argument("type", choices=types)
    parser.add_argument("--event-id", help="the CRM's id for this event: a retry is then harmless")
    parser.add_argument("--link")
    parser.add_argument("--wait", action="store_true", help="wait until every notice is sent")
    parser.add_argument("--json", action="store_true")
    return parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="herald", description="Durable notifications on Temporal.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    dev = sub.add_parser(
        "dev", help="run the embedded stack: Temporal dev server, migrations, worker"
    )
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--api-port", type=int, default=8080, help="the HTTP API's port")
    dev.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    dev.add_argument("--demo", action="store_true", help="also start the demo loans")
    wk = sub.add_parser("worker", help="run a worker (migrates the database first)")
    wk.add_argument(
        "--processes",
        default="1",
        metavar="N",
        help="worker processes on this machine, 1 to 64 or auto (one per core); default 1",
    )
    wk.add_argument(
        "--metrics-address",
        metavar="HOST:PORT",
        help="serve the Temporal SDK's worker metrics for Prometheus there (process i of "
        "--processes: port + i - 1); default HERALD_WORKER_METRICS_ADDRESS",
    )
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("setup", help="migrate and register search attributes (idempotent)")
    doctor = sub.add_parser(
        "doctor",
        help="check encryption, the codec server, Temporal, search attributes and the database",
    )
    doctor.add_argument("--json", action="store_true")
    schedules = sub.add_parser(
        "schedules", help="show Herald's Temporal schedules (housekeeping) and their runs"
    )
    schedules.add_argument("--json", action="store_true")
    codec = sub.add_parser("codec-server", help="decrypt payloads for the Temporal UI")
    codec.add_argument("--host", default="127.0.0.1")
    codec.add_argument("--port", type=int, default=8888)
    codec.add_argument(
        "--new-key",
        action="store_true",
        help="print a fresh ID:KEY entry for HERALD_ENCRYPTION_KEYS and exit",
    )
    codec.add_argument(
        "--key-id", help="the id of the --new-key entry (default: k and today's date)"
    )
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
    token = subscriber.add_parser(
        "token", help="a signed token for the person's browser (the bell, the preferences)"
    )
    token.add_argument("id")
    token.add_argument("--ttl", type=int, default=3600, help="seconds it lives (60-86400)")
    token.add_argument("--json", action="store_true")

    prefs = sub.add_parser("prefs", help="notification preferences").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    ps = prefs.add_parser("set")
    ps.add_argument("id")
    for ch in ("email", "sms", "whatsapp", "in-app"):
        ps.add_argument(f"--{ch}", choices=["on", "off"])
    ps.add_argument("--reminder", action="append", default=[], metavar="KIND=on|off")
    ps.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="CATEGORY=on|off|CHANNEL[+CHANNEL]",
        help=f"a whole category ({', '.join(CATEGORIES)}): on, off, or only some channels "
        "(leads=in_app)",
    )
    ps.add_argument("--quiet-hours", metavar="HH:MM-HH:MM|off", help="local, e.g. 21:00-07:30")
    ps.add_argument("--digest", choices=["off", "daily", "weekly"])
    ps.add_argument("--digest-at", metavar="HH:MM", help="local hour of the digest (18:00)")
    ps.add_argument("--digest-day", metavar="DAY", help="weekly digests: monday ... sunday")
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
    ln = loan.add_parser("notify", help="send one of the loan's notices now, by hand")
    ln.add_argument("loan_id")
    ln.add_argument(
        "--kind", help="loan.reminder_j1, loan.overdue, …; default: the loan's next notice"
    )
    ln.add_argument("--manager", action="store_true", help="copy the loan's manager")
    ln.add_argument("--json", action="store_true")
    lst = loan.add_parser("status")
    lst.add_argument("loan_id")
    lst.add_argument("--json", action="store_true")
    cli_operations.add_list_parser(loan, "loan")

    mailbox = sub.add_parser(
        "mailbox", help="what waits for a person's quiet hours to end or for their digest"
    )
    mailbox.add_argument("id")
    mailbox.add_argument("--json", action="store_true")

    followup = sub.add_parser(
        "followup", help="CRM follow-ups: start, complete, reschedule, reassign, cancel"
    ).add_subparsers(dest="action", required=True, parser_class=_Parser)
    fs = followup.add_parser("start")
    fs.add_argument("followup_id")
    fs.add_argument("--title", required=True)
    fs.add_argument("--assignee", required=True)
    fs.add_argument("--due", required=True)
    fs.add_argument("--customer")
    fs.add_argument("--lead")
    fs.add_argument("--manager", action="append", metavar="ID", help="default: the managers group")
    fs.add_argument("--link")
    fs.add_argument("--json", action="store_true")
    fc = followup.add_parser("complete")
    fc.add_argument("followup_id")
    fc.add_argument("--at")
    fc.add_argument("--no-wait", action="store_true", help="record it without waiting for a worker")
    fc.add_argument("--json", action="store_true")
    fr = followup.add_parser("reschedule")
    fr.add_argument("followup_id")
    fr.add_argument("--due", required=True)
    fr.add_argument("--json", action="store_true")
    fa = followup.add_parser("reassign")
    fa.add_argument("followup_id")
    fa.add_argument("--assignee", required=True)
    fa.add_argument("--json", action="store_true")
    fx = followup.add_parser("cancel")
    fx.add_argument("followup_id")
    fn = followup.add_parser("notify", help="send one of the follow-up's notices now, by hand")
    fn.add_argument("followup_id")
    fn.add_argument(
        "--kind",
        help="followup.due_tomorrow or followup.overdue; default: the follow-up's next notice",
    )
    fn.add_argument("--manager", action="store_true", help="copy the managers")
    fn.add_argument("--json", action="store_true")
    fst = followup.add_parser("status")
    fst.add_argument("followup_id")
    fst.add_argument("--json", action="store_true")
    cli_operations.add_list_parser(followup, "followup")

    lead = sub.add_parser("lead", help="CRM lead events").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    lev = _crm_event_parser(lead, "lead_id", LEAD_EVENTS)
    lev.add_argument("--name")
    lev.add_argument("--company")
    lev.add_argument("--value", help="as it should be shown, e.g. '12 500 €'")
    lev.add_argument("--stage")
    lev.add_argument("--previous-stage")
    lev.add_argument("--fulfilment")
    lev.add_argument("--assignee")
    lev.add_argument("--previous-assignee")
    lev.add_argument("--changed-by")
    lev.add_argument("--manager", action="append", metavar="ID", help="default: the managers group")

    user = sub.add_parser("user", help="CRM user-account events").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    uev = _crm_event_parser(user, "user_id", USER_EVENTS)
    uev.add_argument("--role")
    uev.add_argument("--previous-role")
    uev.add_argument("--changed-by")

    repair = sub.add_parser(
        "repair", help="start repairs and report their status changes"
    ).add_subparsers(dest="action", required=True, parser_class=_Parser)
    rs = repair.add_parser("start")
    rs.add_argument("repair_id")
    rs.add_argument("--title", required=True)
    rs.add_argument("--customer", required=True)
    rs.add_argument("--technician")
    rs.add_argument("--link")
    rs.add_argument("--json", action="store_true")
    re_ = repair.add_parser(
        "event", help="approved, denied, assigned, reassigned, in_progress, ..."
    )
    re_.add_argument("repair_id")
    re_.add_argument("type")
    re_.add_argument("--event-id", help="the app's id for this event: a retry is then harmless")
    re_.add_argument("--technician")
    re_.add_argument("--reason")
    re_.add_argument("--batch-id")
    re_.add_argument("--batch-size", type=int)
    re_.add_argument("--reward")
    re_.add_argument("--points", type=int)
    re_.add_argument("--no-wait", action="store_true", help="send as a signal, without waiting")
    re_.add_argument("--json", action="store_true")
    cli_notices.add_repair_parsers(repair)
    rst = repair.add_parser("status")
    rst.add_argument("repair_id")
    rst.add_argument("--json", action="store_true")
    cli_operations.add_list_parser(repair, "repair")

    notify = sub.add_parser(
        "notify", help="send an admin template, or a title and a message, to people and groups"
    )
    notify.add_argument("template", nargs="?", help="an admin template (or: cancel REQUEST_ID)")
    notify.add_argument("--user", action="append", default=[], metavar="ID")
    notify.add_argument("--group", action="append", default=[], metavar="NAME")
    notify.add_argument("--event", help="instead of --group: the groups HERALD_EVENT_GROUPS names")
    notify.add_argument("--context", default="{}", help="JSON object for the template")
    notify.add_argument("--priority", default="medium")
    notify.add_argument("--channel", action="append", metavar="CHANNEL")
    notify.add_argument("--link")
    notify.add_argument("--request-id")
    notify.add_argument("--wait", action="store_true", help="wait for every delivery")
    notify.add_argument("--json", action="store_true")
    cli_notices.add_notify_arguments(notify)

    api_commands.add_parsers(sub, _Parser)
    cli_feedback.add_parsers(sub, _Parser)
    cli_verify.add_parsers(sub, _Parser)
    cli_inbox.add_parsers(sub, _Parser)
    cli_groups.add_parsers(sub, _Parser)
    cli_delivery_log.add_parsers(sub, _Parser)
    cli_webhooks.add_parsers(sub, _Parser)
    cli_staff_channels.add_parsers(sub, _Parser)
    cli_summary.add_parsers(sub, _Parser)
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
        if args.action == "token":
            minted = await h.mint_subscriber_token(args.id, ttl=args.ttl)
            if args.json:
                _print_json(minted.__dict__)
            else:
                print(minted.token)
            return EXIT_OK
        if args.action == "upsert":
            fields = {
                k: getattr(args, k)
                for k in ("name", "email", "phone", "whatsapp", "locale", "timezone")
                if getattr(args, k) is not None
            }
            contact = await h.upsert_subscriber(args.id, **fields)
        else:
            contact = await h.get_subscriber(args.id)
        doc = dict(contact.__dict__)
        if args.action == "show" and contact.whatsapp:
            doc["whatsapp_window"] = await h.whatsapp_window(args.id)
        if args.json:
            _print_json(doc)
            return EXIT_OK
        window = doc.pop("whatsapp_window", None)
        print(", ".join(f"{k}={v}" for k, v in doc.items() if v is not None))
        if window is not None:
            if window["open"]:
                print(f"WhatsApp window: open until {window['open_until']}")
            elif window["last_inbound_at"]:
                print(f"WhatsApp window: closed since {window['open_until']} (templates only)")
            else:
                print("WhatsApp window: closed, no message received yet (templates only)")
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
                categories=_category_toggles(args.category),
                **{
                    k: v
                    for k, v in (
                        ("quiet_hours", args.quiet_hours),
                        ("digest", args.digest),
                        ("digest_at", args.digest_at),
                        ("digest_weekday", args.digest_day),
                    )
                    if v is not None
                },
            )
        else:
            prefs = await h.get_preferences(args.id)
        doc = {"subscriber_id": args.id, **prefs.__dict__}
        if args.json:
            _print_json(doc)
        else:

            def state(value: bool | None) -> str:
                return "default" if value is None else "on" if value else "off"

            channels = " ".join(f"{c.value}={state(prefs.chosen(c))}" for c in ALL_CHANNELS)
            off = [k for k in OPTIONAL_KINDS if not prefs.kind_enabled(k)]
            off += [c for c in CATEGORIES if not prefs.category_enabled(c)]
            only = [
                f"{c}={'+'.join(sorted(ch.value for ch in chans))}"
                for c in CATEGORIES
                if (chans := prefs.category_channels(c)) is not None
            ]
            print(
                f"{args.id}: {channels}"
                + (f" off: {', '.join(off)}" if off else "")
                + (f" only: {', '.join(only)}" if only else "")
            )
            contact = await h.get_subscriber(args.id)
            print(f"  {prefs.hold_rules(contact.timezone).describe()}")
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
                _print_json({"loan_id": started.id, **started.__dict__})
            else:
                verb = "started" if started.created else "already running"
                print(f"loan {args.loan_id} {verb}: workflow {started.workflow_id}")
            return EXIT_OK
        if args.action == "cancel":
            await h.cancel_loan(args.loan_id)
            print(f"loan {args.loan_id} cancelled")
            return EXIT_OK
        if args.action == "notify":
            return await _sent_by_hand(h, args, "loan", args.loan_id)
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


async def _mailbox(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        box = await h.mailbox(args.id)
        if args.json:
            _print_json(box.model_dump(mode="json") if box else {"subscriber_id": args.id})
            return EXIT_OK
        if box is None:
            print(f"{args.id}: nothing waiting")
            return EXIT_OK
        print(f"{args.id}: {box.rules.describe() if box.rules else ''}")
        if box.waiting:
            until = box.quiet_until.isoformat() if box.quiet_until else "now"
            print(f"  {len(box.waiting)} waiting for the quiet hours to end ({until})")
        if box.collected:
            at = box.next_digest_at.isoformat() if box.next_digest_at else "-"
            print(f"  {len(box.collected)} collected for the digest at {at}")
        for w in [*box.waiting, *box.collected]:
            print(
                f"  - {w.held_at:%Y-%m-%d %H:%M} {w.kind} ({w.priority}) {w.subject_type} {w.subject_id}"
            )
        if box.dropped:
            print(f"  {box.dropped} dropped so far: their moment had passed (see the delivery log)")
        return EXIT_OK

    return await _with_client(go)


def _print_followup(status: Any) -> None:
    print(f"follow-up {status.followup_id}: {status.state.value} · {status.title}")
    print(
        f"  assignee {status.assignee_id} · due {status.due_at.isoformat()} (zone {status.timezone})"
    )
    if status.next_reminder:
        print(f"  next:      {status.next_reminder.kind} at {status.next_reminder.at.isoformat()}")
    _print_records(status.notifications)


async def _sent_by_hand(h: Any, args: argparse.Namespace, kind: str, object_id: str) -> int:
    """``herald loan|followup notify ID [--kind KIND]``: that notice, or the next one."""
    if args.kind is None:
        sent = await h.send_reminder_now(kind, object_id, manager=args.manager)
    elif kind == "loan":
        sent = await h.notify_loan(object_id, kind=args.kind, manager=args.manager)
    else:
        sent = await h.notify_followup(object_id, kind=args.kind, manager=args.manager)
    if args.json:
        _print_json(sent.model_dump(mode="json"))
    else:
        channels = ", ".join(f"{c}={s.value}" for c, s in sent.channels.items())
        what = "follow-up" if kind == "followup" else kind
        print(f"{what} {object_id}: {sent.notification_id} sent by hand ({channels})")
    return EXIT_OK


async def _followup(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        fid = args.followup_id
        if args.action == "start":
            started = await h.start_followup(
                fid,
                title=args.title,
                assignee_id=args.assignee,
                due_at=parse_instant(args.due),
                customer=args.customer,
                lead_id=args.lead,
                manager_ids=args.manager,
                link=args.link,
            )
            if args.json:
                _print_json({"followup_id": started.id, **started.__dict__})
            else:
                verb = "started" if started.created else "already running"
                print(f"follow-up {fid} {verb}: workflow {started.workflow_id}")
            return EXIT_OK
        if args.action == "cancel":
            await h.cancel_followup(fid)
            print(f"follow-up {fid} cancelled")
            return EXIT_OK
        if args.action == "notify":
            return await _sent_by_hand(h, args, "followup", fid)
        if args.action == "complete":
            at = parse_instant(args.at) if args.at else None
            status = await h.complete_followup(fid, completed_at=at, wait=not args.no_wait)
            if status is None:
                doc = {"followup_id": fid, "completion_recorded": True}
                _print_json(doc) if args.json else print(f"completion of follow-up {fid} recorded")
                return EXIT_OK
        elif args.action == "reschedule":
            status = await h.reschedule_followup(fid, due_at=parse_instant(args.due))
        elif args.action == "reassign":
            status = await h.reassign_followup(fid, assignee_id=args.assignee)
        else:
            status = await h.followup_status(fid)
        _print_json(status.model_dump(mode="json")) if args.json else _print_followup(status)
        return EXIT_OK

    return await _with_client(go)


async def _crm_event(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.command == "lead":
            started = await h.lead_event(
                args.lead_id,
                args.type,
                event_id=args.event_id,
                name=args.name,
                company=args.company,
                value=args.value,
                stage=args.stage,
                previous_stage=args.previous_stage,
                fulfilment=args.fulfilment,
                assignee_id=args.assignee,
                previous_assignee_id=args.previous_assignee,
                changed_by_id=args.changed_by,
                manager_ids=args.manager,
                link=args.link,
                wait=args.wait,
            )
        else:
            started = await h.user_event(
                args.user_id,
                args.type,
                event_id=args.event_id,
                role=args.role,
                previous_role=args.previous_role,
                changed_by_id=args.changed_by,
                link=args.link,
                wait=args.wait,
            )
        doc = {"workflow_id": started.workflow_id, "duplicate": not started.created}
        if args.json:
            _print_json(doc)
        else:
            what = "already received: nothing sent again" if not started.created else "sent"
            print(
                f"{args.command} {started.id} {args.type}: {what} (workflow {started.workflow_id})"
            )
        return EXIT_OK

    return await _with_client(go)


def _json_object(text: str, what: str) -> dict[str, Any]:
    limit = LIMITS["context_bytes"]
    if len(text) > limit:
        raise InvalidInput(f"{what} is {len(text)} characters of JSON; the limit is {limit}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{what} is not JSON: {err.msg}") from None
    except RecursionError:
        raise InvalidInput(
            f"{what} is nested deeper than {LIMITS['context_depth']} levels"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


def _text_or_file(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text("utf-8")
    except OSError as err:
        raise InvalidInput(f"cannot read {value[1:]}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{value[1:]} is not UTF-8 text (byte {err.start})") from None


async def _repair(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        if args.action == "start":
            started = await h.start_repair(
                args.repair_id,
                title=args.title,
                customer_id=args.customer,
                technician_id=args.technician,
                link=args.link,
            )
            doc = {"repair_id": started.id, **started.__dict__}
            _print_json(doc) if args.json else print(
                f"repair {args.repair_id} {'started' if started.created else 'already running'}"
            )
            return EXIT_OK
        if args.action == "event":
            applied = await h.repair_event(
                args.repair_id,
                args.type,
                event_id=args.event_id,
                technician_id=args.technician,
                reason=args.reason,
                batch_id=args.batch_id,
                batch_size=args.batch_size,
                reward_name=args.reward,
                reward_points=args.points,
                wait=not args.no_wait,
            )
            if applied is None:
                doc = {"repair_id": args.repair_id, "event_recorded": True}
            else:
                doc = applied.model_dump(mode="json")
            if args.json:
                _print_json(doc)
            else:
                print(
                    f"{args.type}: {doc.get('outcome', 'recorded')} {doc.get('detail') or ''}".rstrip()
                )
            return EXIT_OK
        status = await h.repair_status(args.repair_id)
        if args.json:
            _print_json(status.model_dump(mode="json"))
            return EXIT_OK
        print(f"repair {status.repair_id}: {status.state.value} · {status.title}")
        print(f"  customer {status.customer_id} · technician {status.technician_id or '-'}")
        if status.next_unassigned_alert_at:
            print(f"  unassigned alert at {status.next_unassigned_alert_at.isoformat()}")
        for e in status.events:
            print(f"  event {e.type.value} ({e.event_id}): {e.outcome} {e.detail or ''}".rstrip())
        for rec in status.notifications:
            outcome = rec.skipped_reason or ", ".join(
                f"{c}={v.value}" for c, v in rec.channels.items()
            )
            print(f"  - {rec.kind} → {rec.role.value}: {outcome}")
        return EXIT_OK

    return await _with_client(go)


async def _notify(args: argparse.Namespace) -> int:
    async def go(h: Any) -> int:
        request_id, result = await h.notify(
            args.template,
            user_ids=args.user,
            group_names=args.group,
            context=_json_object(args.context, "--context"),
            priority=args.priority,
            channels=args.channel,
            link=args.link,
            request_id=args.request_id,
            wait=args.wait,
            event=args.event,
        )
        doc = {"request_id": request_id, "workflow_id": f"notify-{request_id}"}
        if result is not None:
            doc.update(result.model_dump(mode="json"))
        _print_json(doc) if args.json else print(" ".join(f"{k}={v}" for k, v in doc.items()))
        return EXIT_OK

    return await _with_client(go)


async def _codec_server(args: argparse.Namespace) -> int:
    from herald.codec import EncryptionKeyError, new_key_entry
    from herald.codec_server import CodecServer

    if args.new_key:
        key_id = args.key_id or f"k{datetime.now().strftime('%Y%m%d')}"
        try:
            print(new_key_entry(key_id))
        except EncryptionKeyError as err:
            raise InvalidInput(str(err)) from None
        return EXIT_OK
    try:
        server = CodecServer(load_settings(), host=args.host, port=args.port)
    except OSError as err:
        raise InvalidInput(f"cannot listen on {args.host}:{args.port}: {err.strerror}") from None
    except ValueError as err:
        raise InvalidInput(str(err)) from None
    print(f"codec server on {server.url} (UI setting: codec endpoint {server.url})", flush=True)
    await server.serve()
    return EXIT_OK


async def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "dev":
        from herald.devstack import run_dev

        return await run_dev(
            load_settings(),
            port=args.port,
            ui_port=args.ui_port,
            demo=args.demo,
            api_port=None if args.no_api else args.api_port,
        )
    if args.command == "worker":
        from worker import run_processes, run_worker, worker_processes

        count = worker_processes(args.processes)
        settings = load_settings()
        if args.metrics_address is not None:
            from herald.settings import split_address

            try:
                split_address(args.metrics_address)
            except ValueError as err:
                raise InvalidInput(f"--metrics-address: {err}") from None
            settings = settings.model_copy(update={"worker_metrics_address": args.metrics_address})
        if count == 1:
            await run_worker(settings)
        else:
            await run_processes(count, settings)
        return EXIT_OK
    if args.command in ("migrate", "setup"):
        from herald import ops

        return await getattr(ops, args.command)(load_settings())
    if args.command in ("doctor", "schedules"):
        from herald import ops

        return await getattr(ops, args.command)(load_settings(), as_json=args.json)
    if args.command == "codec-server":
        return await _codec_server(args)
    if args.command in api_commands.COMMANDS:
        return await api_commands.run(args)
    if cli_notices.handles(args):
        return await cli_notices.run(args)
    if cli_operations.handles(args):
        return await cli_operations.run(args)
    if args.command in cli_feedback.COMMANDS:
        return await cli_feedback.run(args)
    if args.command in cli_verify.COMMANDS:
        return await cli_verify.run(args)
    if args.command in cli_groups.COMMANDS:
        return await cli_groups.run(args)
    if args.command in cli_staff_channels.COMMANDS:
        return await cli_staff_channels.run(args)
    if args.command == cli_inbox.COMMAND:
        return await cli_inbox.run(args)
    if args.command in cli_delivery_log.COMMANDS:
        return await cli_delivery_log.run(args)
    if args.command == cli_webhooks.COMMAND:
        return await cli_webhooks.run(args)
    if args.command in cli_summary.COMMANDS:
        return await cli_summary.run(args)
    if args.command == "demo":
        from herald.demo import run_demo

        return await run_demo(load_settings(), follow=not args.no_follow)
    handler = {
        "subscriber": _subscriber,
        "prefs": _prefs,
        "loan": _loan,
        "repair": _repair,
        "notify": _notify,
        "mailbox": _mailbox,
        "followup": _followup,
        "lead": _crm_event,
        "user": _crm_event,
    }[args.command]
    return await handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = "WARNING"
    if args.command in ("dev", "worker"):
        try:
            level = load_settings().log_level
        except ValueError:  # a bad setting is reported, with the others, by the command
            level = "INFO"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_dispatch(args))
    except (InvalidInput, NotFound) as err:
        print(f"herald: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`herald api-key create shop | head -n 1`): what was asked
        # is done; the rest of the output has nowhere to go, and neither has a final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except HeraldError as err:
        print(f"herald: failed: {_one_line(err)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        cause = _undecryptable(err)
        if cause is not None:
            print(f"herald: failed: {_one_line(cause)}", file=sys.stderr)
        else:
            print(f"herald: failed: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return EXIT_FAILURE


def _one_line(err: BaseException, limit: int = 2000) -> str:
    """An error as one line a script can read: newlines folded, length bounded, and any
    character the terminal cannot show escaped."""
    text = " ".join(str(err).split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else f"{text[:limit]}…"


def _undecryptable(err: BaseException) -> BaseException | None:
    """The payload-decryption error behind ``err`` (SDK errors wrap it), if there is one."""
    from herald.codec import PLAINTEXT_REFUSED, UndecryptablePayload

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UndecryptablePayload):
            return current
        if getattr(current, "type", None) == PLAINTEXT_REFUSED:
            return current
        current = current.__cause__ or current.__context__
    return None


def entrypoint() -> NoReturn:
    """The ``herald`` console script.

    Exits with ``os._exit`` once output is flushed: the Temporal client's native threads can
    outlive interpreter teardown and abort it (temporalio/sdk-python#300), which would turn
    a successful command into a crash. All work and cleanup is done by then.
    """
    code = main()
    render_pool = sys.modules.get("herald.admin_templates")
    if render_pool is not None:
        render_pool.shutdown_render_pool()  # its processes would outlive os._exit otherwise
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entrypoint()
