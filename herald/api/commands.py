"""``herald api`` and ``herald api-key create|list|revoke`` (light: no web stack imported
until ``herald api`` runs)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from herald.errors import InvalidInput

COMMANDS = ("api", "api-key")


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    api = sub.add_parser("api", help="serve the HTTP API (see /docs)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8080)
    keys = sub.add_parser("api-key", help="keys for the HTTP API").add_subparsers(
        dest="action", required=True, parser_class=parser_class
    )
    kc = keys.add_parser("create", help="create a key and print it (once)")
    kc.add_argument("name")
    kc.add_argument("--scope", choices=["app", "ops"], default="app")
    kl = keys.add_parser("list", help="names, scopes and prefixes (never the secrets)")
    kl.add_argument("--json", action="store_true")
    kr = keys.add_parser("revoke", help="refuse the key from now on")
    kr.add_argument("name")


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        if args.command == "api":
            return await _serve(herald, args.host, args.port)
        return await asyncio.to_thread(_keys, herald, args)
    finally:
        herald.close()


async def _serve(herald: Any, host: str, port: int) -> int:
    from herald.api.app import ApiRefused
    from herald.api.server import ApiServer

    try:
        server = ApiServer(herald, host=host, port=port)
    except ApiRefused as err:
        raise InvalidInput(str(err)) from None
    except OSError as err:
        raise InvalidInput(f"cannot listen on {host}:{port}: {err.strerror}") from None
    print(f"Herald API on {server.url} (docs: {server.url}/docs)", flush=True)
    await server.serve()
    return 0


def _keys(herald: Any, args: argparse.Namespace) -> int:
    from herald.api.keys import ApiKeys

    keys = ApiKeys(herald.store)
    if args.action == "create":
        new = keys.create(args.name, args.scope)
        print(new.key)
        print(
            f"API key {new.info.name} ({new.info.scope}, {new.info.prefix}…) created: "
            "it is shown only now, keep it secret",
            flush=True,
        )
    elif args.action == "revoke":
        info = keys.revoke(args.name)
        print(f"API key {info.name} ({info.prefix}…) revoked")
    else:
        rows = keys.list()
        if args.json:
            doc = [
                {
                    "name": k.name,
                    "scope": k.scope,
                    "prefix": k.prefix,
                    "created_at": k.created_at.isoformat(),
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                }
                for k in rows
            ]
            print(json.dumps(doc, ensure_ascii=False, indent=2))
        for k in [] if args.json else rows:
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
            print(f"{k.name:30} {k.scope:4} {k.prefix}…  {state}, {used}")
    return 0
