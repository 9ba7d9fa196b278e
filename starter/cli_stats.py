"""``herald stats dashboard`` (the ops dashboard's figures) and ``herald stats problems``
(the deliveries failed for good and the stuck ones): each a call of the service layer."""

from __future__ import annotations

import argparse
import json
from typing import Any

ACTIONS = ("dashboard", "problems")


def add_parsers(stats: Any) -> None:
    d = stats.add_parser(
        "dashboard",
        help="deliveries of the last 24 h and 7 days: channels, failures, SMS, lateness",
    )
    d.add_argument("--json", action="store_true")
    p = stats.add_parser("problems", help="deliveries failed for good and stuck ones")
    p.add_argument("--limit", type=int, default=50, help="at most N of each (default 50)")
    p.add_argument("--json", action="store_true")


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) < 120:
        return f"{value:.1f} s"
    if abs(value) < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _dashboard_lines(doc: dict[str, Any]) -> list[str]:
    day, week = doc["windows"]["24h"], doc["windows"]["7d"]

    def row(label: str, a: str, b: str) -> str:
        return f"{label:18} {a:>16} {b:>16}"

    def sms(w: dict[str, Any]) -> str:
        cost = ", ".join(f"{v:.2f} {c}" for c, v in w["sms"]["cost"].items()) or "0"
        return f"{w['sms']['segments']} seg / {cost}"

    lines = [
        row("", "last 24 h", "last 7 days"),
        row("deliveries", str(day["total"]), str(week["total"])),
    ]
    for channel in week["by_channel"]:
        lines.append(
            row(
                f"  {channel}",
                str(day["by_channel"].get(channel, {}).get("total", 0)),
                str(week["by_channel"][channel]["total"]),
            )
        )
    lines += [
        row("failure rate", _rate(day["failure_rate"]), _rate(week["failure_rate"])),
        row("failed", str(day["failed"]), str(week["failed"])),
        row("SMS", str(day["sms"]["messages"]), str(week["sms"]["messages"])),
        row("SMS cost", sms(day), sms(week)),
        row(
            "lateness median",
            seconds(day["lateness"]["median_seconds"]),
            seconds(week["lateness"]["median_seconds"]),
        ),
        row(
            "lateness p99",
            seconds(day["lateness"]["p99_seconds"]),
            seconds(week["lateness"]["p99_seconds"]),
        ),
        f"{'stuck':18} {doc['stuck']:>16}   (pending or failing for over "
        f"{seconds(doc['stuck_after_seconds'])})",
        "",
        "busiest kinds (7 days)",
    ]
    lines += [f"  {k['kind']:30} {k['count']:>6}" for k in week["busiest_kinds"]] or ["  -"]
    lines += ["", f"per day ({doc['timezone']})"]
    for d in doc["days"]:
        parts = ", ".join(f"{c} {n}" for c, n in d["by_channel"].items()) or "-"
        lines.append(f"  {d['date']} {d['total']:>6}  {parts}")
    return lines


def _problem_line(r: dict[str, Any]) -> str:
    reason = r["error"] or r["provider_reason"] or "-"
    resent = r.get("resent_as")
    after = f"  resent as #{resent['id']} ({resent['status']})" if resent else ""
    return (
        f"#{r['id']:<6} {r['scheduled_at'] or '-':32} "
        f"{r['kind']:22} {r['channel']:9} {r['status']:18} {r['provider'] or '-':8} "
        f"{r['recipient'] or '-'}  {reason}{after}"
    )


async def run(herald: Any, args: argparse.Namespace) -> int:
    if args.action == "dashboard":
        doc = await herald.dashboard()
        if args.json:
            _print(doc)
        else:
            print("\n".join(_dashboard_lines(doc)))
        return 0
    found = await herald.delivery_problems(limit=args.limit)
    if args.json:
        _print(found)
        return 0
    for title, part in (("failed for good", "permanently_failed"), ("stuck", "stuck")):
        print(f"{title}: {len(found[part])}")
        for r in found[part]:
            print(_problem_line(r))
        print()
    return 0
