"""What every input must be before Herald writes or starts anything: ids, text, links,
instants, numbers and JSON contexts.

The limits are data, named once in :data:`LIMITS`. Each is at most the size of the column,
row or provider field that will hold the value (``tests/test_validation.py`` checks them
against the tables), so the database is never the first to refuse. A refusal is an
:class:`~herald.errors.InvalidInput` whose message is one line and shows at most the start
of the value.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from herald.errors import InvalidInput

# Ids: letters, digits and a few separators, starting with a letter or digit. The whole
# string must match: ``$`` alone would let a trailing newline through.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]*")
ID_CHARS = "letters, digits or . _ : @ -"

# Characters no text field may hold: C0 controls (NUL included) but tab and newline, DEL,
# and the C1 controls. Single-line fields also refuse tab, newlines and Unicode separators.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")

LIMITS: dict[str, int] = {
    # Every business id (loan, repair, follow-up, subscriber, group, template, event,
    # request): the subscribers.id and groups.name columns.
    "id": 200,
    # Workflow ids built from ids: Temporal's maximum id length, and the delivery log's.
    "workflow_id": 1000,
    # Display text that ends up in a subject line or an in-app title (inbox.title is 400).
    "name": 200,
    "item": 200,
    "title": 200,
    "customer": 200,
    "company": 200,
    "value": 100,
    "role": 100,
    "reward": 200,
    "description": 400,
    "display_name": 200,
    # What an inbox search looks for in titles and bodies.
    "search": 200,
    # Free text shown in a message body.
    "reason": 1000,
    # inbox.link.
    "link": 1000,
    # webhook_endpoints.url.
    "webhook_url": 2000,
    # A staff alert's template context, as JSON.
    "context_bytes": 32 * 1024,
    "context_depth": 8,
    # Admin templates: a subject line, and a body or short text, before any parsing.
    "template_subject": 1000,
    "template_text": 64 * 1024,
    # A repair batch (how many devices one approval covers).
    "batch_size": 10_000,
    # Integers stored in 32-bit columns (PostgreSQL INTEGER).
    "int_max": 2**31 - 1,
    # How far ahead (or back) an instant may be: five years.
    "horizon_days": 5 * 366,
}

HORIZON = timedelta(days=LIMITS["horizon_days"])


def show(value: object, width: int = 60) -> str:
    """The value for an error message: its repr (one line, escapes visible), cut short."""
    text = repr(value)
    if len(text) <= width:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[:width]}…{size}"


def check_id(value: object, what: str) -> str:
    """A business id, whole-string matched, at most ``LIMITS['id']`` characters."""
    limit = LIMITS["id"]
    if not isinstance(value, str) or not _ID.fullmatch(value) or len(value) > limit:
        raise InvalidInput(
            f"invalid {what} {show(value)}: use 1-{limit} {ID_CHARS} "
            "(starting with a letter or digit)"
        )
    return value


def check_ids(values: object, what: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{what}s must be a list of ids")
    return [check_id(v, what) for v in values]


def check_workflow_id(workflow_id: str, what: str) -> str:
    """A workflow id made of several ids stays within Temporal's and the log's limit."""
    limit = LIMITS["workflow_id"]
    if len(workflow_id) > limit:
        raise InvalidInput(
            f"{what} makes a workflow id of {len(workflow_id)} characters; the limit is {limit}"
        )
    return workflow_id


def clean_text(
    value: object, what: str, *, limit: int | None = None, multiline: bool = False
) -> str:
    """Text that every database, header and provider can carry: a string of valid Unicode
    (no lone surrogate, so no undecodable byte from a command line), no NUL or other
    control character, no line break unless ``multiline``; stripped; at most ``limit``
    characters (``LIMITS[what]`` by default)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} {show(value)} is not valid UTF-8 text") from None
    if _CONTROL.search(value):
        raise InvalidInput(f"{what} {show(value)} contains a control character (NUL…)")
    if not multiline and _LINE_BREAK.search(value):
        raise InvalidInput(f"{what} {show(value)} must be one line")
    value = value.strip()
    limit = limit if limit is not None else LIMITS[what]
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value


def optional_text(value: object, what: str, **kwargs: Any) -> str | None:
    """:func:`clean_text`, where ``None`` or blank means "no value"."""
    if value is None:
        return None
    return clean_text(value, what, **kwargs) or None


def required_text(value: object, what: str, **kwargs: Any) -> str:
    text = clean_text(value if value is not None else "", what, **kwargs)
    if not text:
        raise InvalidInput(f"the {what} is empty")
    return text


def check_link(link: object) -> str | None:
    """Only plain web links reach a message: http(s), a host, no credentials before it
    (``https://bank.example@evil.example/`` shows one host and opens another)."""
    if link is None:
        return None
    text = clean_text(link, "link")
    reason = None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        reason = "not a valid URL"
    else:
        if parts.scheme not in ("http", "https") or not text.lower().startswith(
            (f"{parts.scheme}://",)
        ):
            reason = "use an http:// or https:// URL"
        elif "@" in parts.netloc:
            reason = "a link may not carry a user name or password before its host"
        elif not parts.hostname:
            reason = "the link has no host"
        elif re.search(r"\s", text):
            reason = "a link may not contain spaces"
    if reason:
        raise InvalidInput(f"invalid link {show(text)}: {reason}")
    return text


def check_int(value: object, what: str, *, low: int = 0, high: int | None = None) -> int:
    """An integer within ``low``..``high`` (the 32-bit column limit by default)."""
    high = LIMITS["int_max"] if high is None else high
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}, got {show(value)}")
    return value


def aware_instant(value: object, what: str) -> datetime:
    """A datetime with an offset, in UTC, within the planning horizon of today."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no time zone offset (e.g. +01:00 or Z)")
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        instant = None
    now = datetime.now(UTC)
    years = LIMITS["horizon_days"] // 366
    if instant is not None and instant < now - HORIZON:
        raise InvalidInput(
            f"{what} {value.isoformat()} is in the past by more than {years} years: Herald "
            f"plans within {years} years"
        )
    if instant is None or instant > now + HORIZON:
        raise InvalidInput(
            f"{what} {value.isoformat()} is more than {years} years from now: Herald plans "
            f"within {years} years"
        )
    return instant


def check_context(value: object, what: str = "the context") -> dict[str, Any]:
    """A JSON object of bounded depth and size, whose strings are clean text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    depth_limit = LIMITS["context_depth"]
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:  # iterative: a deeply nested value must not exhaust the Python stack
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > depth_limit:
                raise InvalidInput(f"{what} is nested deeper than {depth_limit} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(node, dict):
                    if not isinstance(key, str):
                        raise InvalidInput(f"{what} has a key that is not text: {show(key)}")
                    clean_text(key, f"{what} key", limit=200)
                stack.append((child, depth + 1))
        elif isinstance(node, str):
            clean_text(node, f"{what} value", limit=LIMITS["context_bytes"], multiline=True)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > 2**53:
                raise InvalidInput(f"{what} holds an integer too large for JSON: {show(node)}")
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                raise InvalidInput(f"{what} holds a number JSON cannot carry: {show(node)}")
        else:
            raise InvalidInput(f"{what} must be JSON: {type(node).__name__} is not")
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > LIMITS["context_bytes"]:
        raise InvalidInput(
            f"{what} is {size} bytes of JSON; the limit is {LIMITS['context_bytes']}"
        )
    return value
