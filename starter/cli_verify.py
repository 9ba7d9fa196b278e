"""``herald verify start|confirm|resend|show``: contact verification from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

COMMANDS = ("verify",)


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify", help="prove a person's e-mail or phone is theirs (code or link)"
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)
    vs = verify.add_parser("start", help="send a code (SMS, WhatsApp) or a link (e-mail)")
    vs.add_argument("subscriber_id")
    vs.add_argument("--channel", required=True, choices=["email", "sms", "whatsapp"])
    vc = verify.add_parser("confirm", help="one try of the code")
    vc.add_argument("verification_id")
    vc.add_argument("code")
    vr = verify.add_parser("resend", help="a new code, after the cool-down")
    vr.add_argument("verification_id")
    vw = verify.add_parser("show")
    vw.add_argument("verification_id")
    for p in (vs, vc, vr, vw):
        p.add_argument("--json", action="store_true")


async def run(args: argparse.Namespace) -> int:
    from herald.settings import load_settings
    from starter.client import Herald

    herald = await Herald.connect(load_settings())
    try:
        if args.action == "start":
            doc = await herald.start_verification(args.subscriber_id, channel=args.channel)
        elif args.action == "confirm":
            doc = await herald.confirm_verification(args.verification_id, code=args.code)
        elif args.action == "resend":
            doc = await herald.resend_verification(args.verification_id)
        else:
            doc = await herald.verification(args.verification_id)
        if args.json:
            print(json.dumps(doc, ensure_ascii=False, indent=2))
        else:
            print(
                f"{doc['id']}: {doc['channel']} {doc['address']} {doc['status']} "
                f"({doc['attempts']} tries, {doc['sends']} sent, expires {doc['expires_at']})"
            )
        return 0 if doc["status"] in ("pending", "verified") else 1
    finally:
        herald.close()
