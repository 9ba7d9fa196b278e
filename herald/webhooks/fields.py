"""Reading one field of a provider's payload as if it were hostile.

Every reader names where the field is (``where``, e.g. ``"bounce.bouncedRecipients[0]"``)
and raises :class:`ValueError` with a one-line reason when the field is missing (if
required), of the wrong JSON type, too long, or holds a NUL or another control character
where none belongs. Times come out timezone-aware, in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Provider ids (SES message ids, SNS MessageIds, Twilio SIDs, Meta wamids): printable ASCII.
ID_LIMIT = 256
_ID = re.compile(r"[A-Za-z0-9._:=+/@-]+")
# A short free text from a provider (a bounce's diagnostic, an error's title).
TEXT_LIMIT = 4_000
# Items of one list in a payload (recipients, statuses, entries).
LIST_LIMIT = 1_000
# An e-mail address: RFC 5321's path limit.
ADDRESS_LIMIT = 320
# Control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Unix seconds Herald accepts: 2001-09-09 to 2286-11-20 (ten digits).
_UNIX_SECONDS = re.compile(r"[1-9][0-9]{9}")
# Python's ISO 8601 subset, with a date, a time and an offset (Z or ±hh:mm).
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII
)


def refuse_nul(text: str, where: str) -> str:
    """``text`` unless it holds a NUL (PostgreSQL refuses them; no provider sends one)."""
    if "\x00" in text:
        raise ValueError(f"{where}: NUL character")
    return text


def text(
    obj: Mapping[str, Any], key: str, where: str, *, limit: int = TEXT_LIMIT, required: bool = False
) -> str | None:
    """``obj[key]`` as a string of at most ``limit`` characters without NUL; None when
    absent (or JSON null), unless ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            raise ValueError(f"{where}.{key}: missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{where}.{key}: longer than {limit} characters")
    return refuse_nul(value, f"{where}.{key}")


def required_text(obj: Mapping[str, Any], key: str, where: str, *, limit: int = TEXT_LIMIT) -> str:
    """``obj[key]`` as :func:`text` reads it, and present."""
    value = text(obj, key, where, limit=limit, required=True)
    assert value is not None
    return value


def identifier(obj: Mapping[str, Any], key: str, where: str) -> str:
    """A provider's id: present, printable ASCII without spaces, at most :data:`ID_LIMIT`."""
    value = required_text(obj, key, where, limit=ID_LIMIT)
    if not _ID.fullmatch(value):
        raise ValueError(f"{where}.{key}: not an identifier")
    return value


def single_line(value: str, where: str) -> str:
    """``value`` without control characters (an address, a status word)."""
    if _CONTROL.search(value) or "\n" in value or "\r" in value:
        raise ValueError(f"{where}: control character")
    return value


def mapping(
    obj: Mapping[str, Any], key: str, where: str, *, required: bool = True
) -> dict[str, Any]:
    """``obj[key]`` as a JSON object (an empty one when absent and not ``required``)."""
    value = obj.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        kind = "missing" if value is None else f"expected an object, got {type(value).__name__}"
        raise ValueError(f"{where}.{key}: {kind}")
    return value


def items(
    obj: Mapping[str, Any], key: str, where: str, *, required: bool = False, limit: int = LIST_LIMIT
) -> Sequence[Any]:
    """``obj[key]`` as a JSON array of at most ``limit`` items (empty when absent and not
    ``required``)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise ValueError(f"{where}.{key}: missing")
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where}.{key}: expected an array, got {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{where}.{key}: more than {limit} items")
    return value


def objects(
    obj: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """``obj[key]`` as :func:`items` reads it, each item a JSON object, with its place."""
    found = []
    for i, item in enumerate(items(obj, key, where, required=required)):
        place = f"{where}.{key}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{place}: expected an object, got {type(item).__name__}")
        found.append((place, item))
    return found


def iso_time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    """``obj[key]``, an ISO 8601 time with its offset ("2016-01-27T14:59:38.237Z"), in UTC."""
    value = required_text(obj, key, where, limit=40)
    if not _ISO_TIME.fullmatch(value):
        raise ValueError(f"{where}.{key}: not an ISO 8601 time with an offset: {value!r}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}.{key}: not a valid time: {value!r}") from None
    if when.tzinfo is None:  # the pattern asks for an offset; kept as a guard
        raise ValueError(f"{where}.{key}: time without an offset: {value!r}")
    return when.astimezone(UTC)


def unix_time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    """``obj[key]``, Unix seconds as a string of digits ("1700000000"), in UTC."""
    value = required_text(obj, key, where, limit=20)
    if not _UNIX_SECONDS.fullmatch(value):
        raise ValueError(f"{where}.{key}: not Unix seconds: {value!r}")
    return datetime.fromtimestamp(int(value), UTC)


def aware(when: datetime, where: str) -> datetime:
    """``when`` in UTC; a naive time is refused (whose clock would it be?)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{where}: naive datetime")
    return when.astimezone(UTC)
