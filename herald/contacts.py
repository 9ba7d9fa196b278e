"""Contact validation at the edge: e-mail syntax, E.164 phone numbers, locales, time zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from herald.errors import InvalidInput

LOCALES = ("fr", "en")


def normalise_email(value: str) -> str:
    """The address in normal form, or :class:`InvalidInput` with the reason (no DNS lookups)."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise InvalidInput(f"invalid e-mail {value!r}: {err}") from None


def normalise_phone(value: str, default_region: str = "FR") -> str:
    """The number in E.164 (``+33612345678``), or :class:`InvalidInput` with the reason."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as err:
        raise InvalidInput(f"invalid phone number {value!r}: {err._msg}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"invalid phone number {value!r}: not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_locale(value: str) -> str:
    if value not in LOCALES:
        raise InvalidInput(f"unsupported locale {value!r}: use one of {', '.join(LOCALES)}")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a region such as "Europe"
        raise InvalidInput(
            f"unknown time zone {value!r}: use an IANA name such as Europe/Paris"
        ) from None
    return value
