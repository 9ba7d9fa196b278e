"""The channels and Meta templates of staff alerts on the command line:
``herald group create|set NAME --channels``, ``herald template set NAME --channels …
--meta-template …``, ``herald template sync-meta`` and ``herald stats staff`` (each a call
of the service layer, nothing more)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from herald.errors import InvalidInput
from starter import cli_stats

COMMANDS = ("stats",)
CHANNELS_HELP = "comma-separated: email, sms, whatsapp, in_app ('' clears the choice)"


def add_group_options(create: argparse.ArgumentParser, group: Any) -> None:
    create.add_argument("--channels", help=f"its members' staff alerts' channels: {CHANNELS_HELP}")
    gs = group.add_parser("set", help="a group's channels")
    gs.add_argument("name")
    gs.add_argument("--channels", required=True, help=CHANNELS_HELP)
    gs.add_argument("--json", action="store_true")


def add_template_options(ts: argparse.ArgumentParser, template: Any) -> None:
    ts.add_argument("--channels", help=f"this template's alerts' channels: {CHANNELS_HELP}")
    ts.add_argument("--meta-template", metavar="NAME", help="the Meta template outside 24 h")
    ts.add_argument(
        "--meta-language", metavar="LOCALE=CODE,…", help="fr=fr,en=en_US (or one code for all)"
    )
    ts.add_argument(
        "--meta-param",
        action="append",
        metavar="JINJA",
        help="{{1}}, {{2}}… in order, e.g. '{{ recipient.name }}'; repeat",
    )
    ts.add_argument(
        "--meta-button",
        action="append",
        metavar="TYPE=JINJA",
        help="quick_reply=PAYLOAD or url=SUFFIX, in the buttons' order; repeat",
    )
    ts.add_argument(
        "--meta-json",
        metavar="JSON",
        help='all at once: {"meta_template", "meta_languages", "meta_params", "meta_buttons"}',
    )
    ts.add_argument(
        "--clear", action="append", metavar="OPTION", help="empty it: meta_buttons …; repeat"
    )
    sm = template.add_parser("sync-meta", help="read Meta's approval of the mapped templates")
    sm.add_argument("--json", action="store_true")


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser("stats", help="numbers of the last hours").add_subparsers(
        dest="action", required=True, parser_class=parser_class
    )
    st = stats.add_parser("staff", help="staff alerts sent, pending and failed")
    st.add_argument("--hours", type=int, default=24)
    st.add_argument("--json", action="store_true")
    cli_stats.add_parsers(stats)  # herald stats dashboard|problems


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def channels_of(text: str | None) -> list[str] | None:
    """``--channels whatsapp,in_app`` as a list ([] for ``''``: clear)."""
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


def option_changes(args: argparse.Namespace) -> dict[str, Any] | None:
    """The template options given on the command line, or None when there are none."""
    changes: dict[str, Any] = {}
    if args.meta_json:
        try:
            doc = json.loads(args.meta_json)
        except json.JSONDecodeError as err:
            raise InvalidInput(f"--meta-json is not JSON: {err.msg}") from None
        fields = ("meta_template", "meta_languages", "meta_params", "meta_buttons")
        if not isinstance(doc, dict) or set(doc) - set(fields):
            raise InvalidInput(f"--meta-json must be an object with {', '.join(fields)}")
        changes.update(doc)
    if args.channels is not None:
        changes["channels"] = channels_of(args.channels)
        if not changes["channels"]:
            changes.pop("channels")
            args.clear = [*(args.clear or []), "channels"]
    if args.meta_template:
        changes["meta_template"] = args.meta_template
    if args.meta_language:
        changes["meta_languages"] = args.meta_language
    if args.meta_param:
        changes["meta_params"] = args.meta_param
    if args.meta_button:
        buttons = []
        for given in args.meta_button:
            kind, sep, text = given.partition("=")
            if not sep:
                raise InvalidInput(f"--meta-button {given!r}: give TYPE=TEXT (quick_reply=…)")
            buttons.append({"type": kind.strip(), "text": text})
        changes["meta_buttons"] = buttons
    if args.clear:
        changes["clear"] = args.clear
    return changes or None


def show_meta(rows: list[Any]) -> None:
    for r in rows:
        meta = f"{r.meta_template} ({r.language or '?'}) {r.meta_status or 'unsynced'}"
        if r.meta_rejected_reason:
            meta += f": {r.meta_rejected_reason}"
        channels = ",".join(r.channels) if r.channels else "-"
        print(f"{r.name:30} {r.locale}  channels {channels:16} {meta if r.meta_template else ''}")


async def set_group(h: Any, args: argparse.Namespace) -> None:
    channels = await h.set_group_channels(args.name, channels_of(args.channels))
    if args.json:
        _print({"group": args.name, "channels": channels})
    else:
        print(f"group {args.name}: {', '.join(channels) if channels else 'default channels'}")


async def list_templates(h: Any, args: argparse.Namespace) -> None:
    rows = await h.templates()
    metas = {(m.name, m.locale): m for m in await h.template_meta()}
    if args.json:
        _print([{**r.__dict__, **(metas[(r.name, r.locale)].__dict__)} for r in rows])
        return
    for r in rows:
        m = metas.get((r.name, r.locale))
        extra = ""
        if m is not None and m.channels:
            extra += f"  [{','.join(m.channels)}]"
        if m is not None and m.meta_template:
            extra += f"  meta {m.meta_template} ({m.language or '?'}) {m.meta_status or 'unsynced'}"
            if m.meta_rejected_reason:
                extra += f": {m.meta_rejected_reason}"
        print(f"{r.name:30} {r.locale}  {r.subject}{extra}")


async def sync_meta(h: Any, args: argparse.Namespace) -> None:
    rows = await h.sync_meta_templates()
    if args.json:
        _print([r.__dict__ for r in rows])
    elif not rows:
        print("no admin template maps a Meta template (herald template set NAME --meta-template)")
    else:
        show_meta(rows)


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    h = await Herald.connect(load_settings())
    try:
        if args.action in cli_stats.ACTIONS:
            return await cli_stats.run(h, args)
        stats = await h.staff_stats(args.hours)
        if args.json:
            _print(stats)
            return 0
        for part, title in (("templates", "template"), ("groups", "group")):
            print(f"{title:30} {'sent':>6} {'pending':>8} {'failed':>7}")
            for name, n in stats[part].items():
                print(f"{name:30} {n['sent']:6} {n['pending']:8} {n['failed']:7}")
            print()
        return 0
    finally:
        h.close()
