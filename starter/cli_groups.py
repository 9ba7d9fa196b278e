"""``herald group create|add|remove|list`` and ``herald template set|load|list|preview``:
groups of people and admin templates (a built-in kind's preview is
:mod:`starter.cli_delivery_log`'s) from the command line (each a call of the service
layer, nothing more). ``group create --file`` and ``template load`` read a JSON or YAML
document (YAML needs PyYAML installed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from herald.errors import InvalidInput
from herald.kinds import KINDS
from starter import cli_delivery_log
from starter import cli_staff_channels as channels

COMMANDS = ("group", "template")
MAX_FILE_BYTES = 8 * 1024 * 1024


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("group", help="groups of people to notify together").add_subparsers(
        dest="action", required=True, parser_class=parser_class
    )
    gc = group.add_parser("create", help="one group or several (names, or --file)")
    gc.add_argument("names", nargs="*", metavar="NAME", help="slugs: technical-admins …")
    gc.add_argument(
        "--display-name",
        action="append",
        metavar="TEXT",
        help="what people read; once per name, in the same order",
    )
    gc.add_argument(
        "--description", action="append", metavar="TEXT", help="once per name, in order"
    )
    gc.add_argument("--file", help="JSON or YAML: a list of {name, display_name?, description?}")
    gc.add_argument("--json", action="store_true")
    channels.add_group_options(gc, group)
    for verb in ("add", "remove"):
        g = group.add_parser(verb)
        g.add_argument("name")
        g.add_argument("ids", nargs="+", metavar="ID")
    gl = group.add_parser("list", help="all groups, or one group's members")
    gl.add_argument("name", nargs="?")
    gl.add_argument("--json", action="store_true")

    template = sub.add_parser(
        "template", help="admin templates; previews of built-in kinds"
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)
    ts = template.add_parser("set")
    ts.add_argument("name")
    ts.add_argument("--locale", choices=["fr", "en"], default="fr")
    ts.add_argument("--subject", help="with --body: the text (else only options change)")
    ts.add_argument("--body", help="Jinja2 text; @FILE reads a file")
    ts.add_argument("--short", help="SMS/WhatsApp text; @FILE reads a file")
    channels.add_template_options(ts, template)
    tload = template.add_parser(
        "load", help="several templates from a file, all checked before any is saved"
    )
    tload.add_argument("file", help="JSON or YAML: a list of {name, locale, subject, body, short?}")
    tload.add_argument("--json", action="store_true")
    tl = template.add_parser("list")
    tl.add_argument("--json", action="store_true")
    tp = template.add_parser("preview")
    tp.add_argument("name")
    tp.add_argument("--locale", choices=["fr", "en"], default="fr")
    tp.add_argument("--context", default="{}", help="JSON object")
    tp.add_argument("--json", action="store_true")
    cli_delivery_log.add_preview_arguments(tp)


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def read_document(path: str, key: str) -> Any:
    """The entries of a JSON or YAML file (by its extension): a list, or an object whose
    ``key`` is the list."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} is {size} bytes; the limit is {MAX_FILE_BYTES}")
        text = file.read_text("utf-8")
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {err.start})") from None
    if file.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InvalidInput(
                f"reading {path} needs PyYAML (pip install pyyaml); or give the file as JSON"
            ) from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InvalidInput(f"{path} is not YAML: {' '.join(str(err).split())}") from None
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidInput(f"{path} is not JSON: {err.msg} (line {err.lineno})") from None
        except RecursionError:
            raise InvalidInput(f"{path} is nested too deeply") from None
    if isinstance(doc, dict) and set(doc) == {key}:
        doc = doc[key]
    if not isinstance(doc, list):
        raise InvalidInput(f"{path} must hold a list of {key}, or an object with {key!r}")
    return doc


def _paired(values: list[str] | None, names: list[str], option: str) -> list[str | None]:
    if not values:
        return [None] * len(names)
    if len(values) != len(names):
        raise InvalidInput(
            f"{option} is given {len(values)} time(s) for {len(names)} group(s): "
            "give it once per name, in the same order"
        )
    return list(values)


async def _create(h: Any, args: argparse.Namespace) -> None:
    if args.file and (args.names or args.display_name or args.description):
        raise InvalidInput("give either group names or --file, not both")
    if not args.file and not args.names:
        raise InvalidInput("give at least one group name, or --file")
    if not args.file and len(args.names) == 1:
        [display_name] = _paired(args.display_name, args.names, "--display-name")
        [description] = _paired(args.description, args.names, "--description")
        created = await h.create_group(args.names[0], description, display_name=display_name)
        done = {"created": args.names if created else [], "existing": [] if created else args.names}
    else:
        if args.file:
            entries = read_document(args.file, "groups")
        else:
            shown = _paired(args.display_name, args.names, "--display-name")
            described = _paired(args.description, args.names, "--description")
            entries = [
                {"name": n, "display_name": d, "description": t}
                for n, d, t in zip(args.names, shown, described, strict=True)
            ]
        done = await h.create_groups(entries)
    for name in done["created"] if args.channels is not None else []:
        await h.set_group_channels(name, channels.channels_of(args.channels))
    if args.json:
        _print(done)
        return
    for name in done["created"]:
        print(f"group {name} created")
    for name in done["existing"]:
        print(f"group {name} already exists")


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.cli import _json_object, _text_or_file
    from starter.client import Herald

    # A file that cannot be read is refused before anything is connected.
    templates: Any = read_document(args.file, "templates") if args.action == "load" else None
    h = await Herald.connect(load_settings())
    try:
        if args.command == "group":
            await _group(h, args)
        elif args.action == "set":
            options = channels.option_changes(args)
            if args.subject is None and args.body is None and options is None:
                raise InvalidInput("give --subject and --body, or an option to change")
            if args.subject is not None or args.body is not None:
                if args.subject is None or args.body is None:
                    raise InvalidInput("give both --subject and --body")
                created = await h.set_template(
                    args.name,
                    locale=args.locale,
                    subject=args.subject,
                    body=_text_or_file(args.body) or "",
                    short=_text_or_file(args.short),
                )
                state = "created" if created else "updated"
                print(f"template {args.name} ({args.locale}) {state}")
            if options is not None:
                meta = await h.set_template_options(args.name, **options)
                channels.show_meta([meta])
        elif args.action == "sync-meta":
            await channels.sync_meta(h, args)
        elif args.action == "load":
            done = await h.load_templates(templates)
            if args.json:
                _print(done)
            for state in [] if args.json else ("created", "updated"):
                for key in done[state]:
                    name, locale = key.rsplit("/", 1)
                    print(f"template {name} ({locale}) {state}")
        elif args.action == "list":
            await channels.list_templates(h, args)
        elif args.name in KINDS:
            return await cli_delivery_log.preview_kind(h, args)
        else:
            if args.format is not None:
                raise InvalidInput(
                    f"--format is for built-in kinds; {args.name} is previewed as an admin "
                    "template (title, body and short text)"
                )
            notice = await h.preview_template(
                args.name, locale=args.locale, context=_json_object(args.context, "--context")
            )
            if args.json:
                _print(notice.__dict__)
            else:
                print(f"{notice.title}\n\n{notice.body}\n\n--- short ---\n{notice.short}")
        return 0
    finally:
        h.close()


async def _group(h: Any, args: argparse.Namespace) -> None:
    if args.action == "create":
        await _create(h, args)
    elif args.action == "set":
        await channels.set_group(h, args)
    elif args.action == "add":
        print(f"{await h.add_to_group(args.name, args.ids)} added to {args.name}")
    elif args.action == "remove":
        print(f"{await h.remove_from_group(args.name, args.ids)} removed from {args.name}")
    elif args.name:
        members = await h.group_members(args.name)
        _print({"group": args.name, "members": members}) if args.json else print("\n".join(members))
    else:
        groups = await h.groups()
        if args.json:
            _print([g.__dict__ for g in groups])
        for g in [] if args.json else groups:
            shown = f"{g.display_name}  " if g.display_name else ""
            shown += f"[{','.join(g.channels)}]  " if g.channels else ""
            print(f"{g.name:30} {g.members:6} members  {shown}{g.description or ''}")
