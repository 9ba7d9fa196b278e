"""Contact validation at the edge: e-mail syntax, E.164 phone numbers, locales, time zones."""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

from herald.errors import InvalidInput
from herald.validation import clean_text, show

LOCALES = ("fr", "en")

# Numbers that belong to a person and can receive an SMS or a WhatsApp message. Premium-rate,
# toll-free, shared-cost, pager, voicemail, fixed lines and unknown types cannot (or cost the
# sender a surcharge), so they are refused as destinations.
MESSAGING_NUMBER_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.VOIP,
    }
)
_NUMBER_TYPE_NAMES = {
    value: name.lower().replace("_", "-")
    for name, value in vars(PhoneNumberType).items()
    if isinstance(value, int) and name.isupper()
}
# Zones that depend on the host (``localtime``) or are not places (``Factory``); ``right/…``
# and ``posix/…`` trees and ``posixrules`` are absent from the tzdata list as well.
_PSEUDO_ZONES = frozenset({"Factory", "localtime", "posixrules"})
_STAND_IN = ".special-use.herald.example.org"


def normalise_email(
    value: str, *, smtputf8: bool = False, special_use_domains: Iterable[str] = ()
) -> str:
    """The address in the form every sending path can carry, or :class:`InvalidInput` with the
    reason (no DNS lookups).

    An internationalised domain is kept in its ASCII (IDNA) form. A non-ASCII local part
    (``José@…``) needs SMTPUTF8 all the way to the mailbox: it is refused unless the
    deployment says its mail path carries it (``smtputf8``). Special-use domains (``.local``,
    ``.test``…) are refused unless listed in ``special_use_domains``.
    """
    value = clean_text(value, "e-mail address", limit=320)
    local, _, domain = value.rpartition("@")
    allowed = next(
        (
            d
            for d in (s.strip().lower().strip(".") for s in special_use_domains)
            if d and (domain.lower() == d or domain.lower().endswith(f".{d}"))
        ),
        None,
    )
    # email-validator refuses special-use domains outright: a domain the deployment allows is
    # checked with its special suffix swapped for an ordinary one, then given back.
    stand_in = f"{allowed.replace('.', '-')}{_STAND_IN}" if allowed else None
    probe = f"{local}@{domain[: -len(allowed)]}{stand_in}" if allowed and stand_in else value
    try:
        result = validate_email(probe, check_deliverability=False, allow_smtputf8=smtputf8)
    except EmailNotValidError as err:
        reason = str(err)
        if "SMTPUTF8" in reason or "internationalized" in reason.lower():
            reason = (
                "its part before the @ is not ASCII, which needs SMTPUTF8 on every mail server "
                "on the way; set HERALD_EMAIL_SMTPUTF8=true if yours carry it"
            )
        elif "special-use" in reason:
            reason += " Set HERALD_EMAIL_SPECIAL_USE_DOMAINS to accept it (e.g. local)."
        raise InvalidInput(f"invalid e-mail {show(value)}: {reason}") from None
    address = result.ascii_email or result.normalized
    if allowed and stand_in:
        address = address[: -len(stand_in)] + allowed
    return address


def normalise_phone(value: str, default_region: str = "FR") -> str:
    """A number that can receive SMS or WhatsApp, in E.164 (``+33612345678``), or
    :class:`InvalidInput` with the reason."""
    value = clean_text(value, "phone number", limit=64)
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as err:
        raise InvalidInput(f"invalid phone number {show(value)}: {err._msg}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"invalid phone number {show(value)}: not a valid number")
    kind = phonenumbers.number_type(number)
    if kind not in MESSAGING_NUMBER_TYPES:
        name = _NUMBER_TYPE_NAMES.get(kind, "unknown")
        raise InvalidInput(
            f"invalid phone number {show(value)}: a {name} number cannot receive SMS or "
            "WhatsApp messages; give a mobile number"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_locale(value: str) -> str:
    if value not in LOCALES:
        raise InvalidInput(f"unsupported locale {show(value)}: use one of {', '.join(LOCALES)}")
    return value


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA zones of the tzdata package: the same list on every host."""
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    return frozenset(listed) - _PSEUDO_ZONES


def check_timezone(value: str) -> str:
    if not isinstance(value, str) or value not in known_timezones():
        raise InvalidInput(
            f"unknown time zone {show(value)}: use an IANA name such as Europe/Paris"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"time zone {show(value)} cannot be loaded on this host") from None
    return value
