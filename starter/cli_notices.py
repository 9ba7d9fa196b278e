"""``herald deliveries resend ID``: each a call of the service layer, nothing more."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_delivery_arguments(deliveries: argparse.ArgumentParser) -> None:
    """``herald deliveries [resend ID]``: the log, or a new attempt of a failed row."""
    deliveries.add_argument("action", nargs="?", choices=["resend"])
    deliveries.add_argument("id", nargs="?", type=int, help="the delivery to resend")
    deliveries.add_argument("--wait", action="store_true", help="wait for the new attempt")


def handles(args: argparse.Namespace) -> bool:
    return args.command == "deliveries" and getattr(args, "action", None) == "resend"


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


async def run(args: argparse.Namespace) -> int:
    from herald.errors import InvalidInput
    from herald.settings import load_settings
    from starter.client import Herald

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
