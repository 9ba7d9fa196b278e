"""Contact validation at the edge (herald/contacts.py): pure, no DNS, no server."""

from __future__ import annotations

import socket

import pytest

from herald.contacts import (
    LOCALES,
    check_locale,
    check_timezone,
    normalise_email,
    normalise_phone,
)
from herald.errors import HeraldError, InvalidInput


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any DNS lookup or connection fails the test."""
    import email_validator.deliverability

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during validation")

    monkeypatch.setattr(email_validator.deliverability, "validate_email_deliverability", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)


def test_invalid_input_is_a_value_error() -> None:
    assert issubclass(InvalidInput, ValueError)
    assert issubclass(InvalidInput, HeraldError)


# ------------------------------------------------------------------ e-mail


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ada@example.org", "ada@example.org"),
        ("Jean.Dupont@Example.ORG", "Jean.Dupont@example.org"),  # domain lower-cased
        ("prets@bibliotheque.example.fr", "prets@bibliotheque.example.fr"),
        # An internationalised domain is kept in the ASCII form every mail server carries.
        ("jean@exämple.fr", "jean@xn--exmple-cua.fr"),
        ("  ada@example.org ", "ada@example.org"),  # surrounding blanks are trimmed
        # A domain that does not exist: accepted, since nothing is looked up.
        ("someone@no-such-domain-herald-tests.fr", "someone@no-such-domain-herald-tests.fr"),
    ],
)
def test_normalise_email(no_network: None, value: str, expected: str) -> None:
    assert normalise_email(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ada",
        "ada@",
        "@example.org",
        "ada@example",  # no dot in the domain
        "ada@localhost",
        "a..b@example.org",
        "ada @example.org",
        "ada@example.org\n",
        "ada@example.org\r\nBcc: victim@example.org",
        "ada\x00@example.org",
        "ada\udcff@example.org",
        "ada@example.org" + "x" * 400,
        "ada@@example.org",
        "ada@example.test",  # special-use domain
        "Ada <ada@example.org>",  # display names are not addresses
    ],
)
def test_normalise_email_refuses_bad_syntax(no_network: None, value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email(value)
    assert str(err.value).startswith(("invalid e-mail", "e-mail address"))
    assert "\n" not in str(err.value)


def test_a_non_ascii_local_part_needs_smtputf8_on_the_way(no_network: None) -> None:
    # Refused by default: it would fail inside the sending activity on every attempt.
    with pytest.raises(InvalidInput, match="HERALD_EMAIL_SMTPUTF8"):
        normalise_email("José@example.org")
    assert normalise_email("José@example.org", smtputf8=True) == "José@example.org"


@pytest.mark.parametrize(
    ("value", "allowed", "expected"),
    [
        ("user@corp.local", ["local"], "user@corp.local"),
        ("User@Desk.Corp.LOCAL", ["local"], "User@desk.corp.local"),
        ("user@x.test", ["test", "local"], "user@x.test"),
        ("user@corp.local", ["corp.local"], "user@corp.local"),
    ],
)
def test_chosen_special_use_domains_are_accepted(
    no_network: None, value: str, allowed: list[str], expected: str
) -> None:
    with pytest.raises(InvalidInput, match="HERALD_EMAIL_SPECIAL_USE_DOMAINS"):
        normalise_email(value)
    assert normalise_email(value, special_use_domains=allowed) == expected


def test_only_the_chosen_special_use_domains_are_accepted(no_network: None) -> None:
    with pytest.raises(InvalidInput):
        normalise_email("user@x.test", special_use_domains=["local"])
    with pytest.raises(InvalidInput):
        normalise_email("user@notlocal", special_use_domains=["local"])


# ------------------------------------------------------------------ phone


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0612345678", "FR", "+33612345678"),
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("+33612345678", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("+1 415 555 2671", "FR", "+14155552671"),  # international stays in its country
        ("(415) 555-2671", "US", "+14155552671"),
        ("+44 7911 123456", "FR", "+447911123456"),
    ],
)
def test_normalise_phone(value: str, region: str, expected: str) -> None:
    assert normalise_phone(value, region) == expected


def test_normalise_phone_default_region_is_france() -> None:
    assert normalise_phone("06 12 34 56 78") == "+33612345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "12",
        "+33 1",
        "06 12 34 56 7",  # one digit short
        "06 12 34 56 78 9",  # one digit too many
        "+1 555 555 55555",
        "+999 123456789",  # no such country code
    ],
)
def test_normalise_phone_refuses_invalid_numbers(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_phone(value)
    assert repr(value) in str(err.value)
    assert str(err.value).startswith("invalid phone number")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("0899 12 34 56", "premium-rate"),  # French premium rate
        ("+44 909 879 0000", "premium-rate"),
        ("0800 12 34 56", "toll-free"),
        ("+1 800 234 5678", "toll-free"),
        ("01 42 68 53 00", "fixed-line"),  # a Paris landline cannot take an SMS
        ("0810 12 34 56", "shared-cost"),
    ],
)
def test_numbers_that_cannot_take_a_message_are_refused(value: str, kind: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_phone(value)
    assert f"a {kind} number" in str(err.value)


@pytest.mark.parametrize("value", ["+33612345678\n", "06 12\x00 34 56 78", "0" * 100])
def test_normalise_phone_refuses_hostile_text(value: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_phone(value)


# ------------------------------------------------------------------ locale and time zone


@pytest.mark.parametrize("value", ["fr", "en"])
def test_check_locale_accepts(value: str) -> None:
    assert value in LOCALES
    assert check_locale(value) == value


@pytest.mark.parametrize("value", ["", "de", "FR", "fr-FR", "fr_FR", "english"])
def test_check_locale_refuses(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_locale(value)
    assert repr(value) in str(err.value)
    assert "fr, en" in str(err.value)


@pytest.mark.parametrize(
    "value",
    [
        "Europe/Paris",
        "UTC",
        "Pacific/Auckland",
        "Pacific/Honolulu",
        "Asia/Kolkata",
        "America/St_Johns",
        "America/Argentina/Buenos_Aires",
    ],
)
def test_check_timezone_accepts_iana_names(value: str) -> None:
    assert check_timezone(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Mars/Olympus",
        "europe/paris",
        "Europe/Paris ",
        "utc+2",
        "CEST+25",
        "../etc/passwd",
        "/etc/passwd",
        "Europe/",
        # Host-dependent or not a place: the same name must mean the same zone everywhere.
        "localtime",
        "posixrules",
        "Factory",
        "right/Europe/Paris",
        "posix/Europe/Paris",
        "Europe/Paris\n",
        "Europe/Paris\x00",
    ],
)
def test_check_timezone_refuses(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_timezone(value)
    assert repr(value) in str(err.value)
    assert "IANA" in str(err.value)


@pytest.mark.parametrize("value", ["Europe", "America", "Pacific"])
def test_check_timezone_refuses_a_region_name(value: str) -> None:
    # A region (a directory of the tz database), not a zone: must be refused as bad input,
    # not leak an OSError from the file system.
    with pytest.raises(InvalidInput) as err:
        check_timezone(value)
    assert repr(value) in str(err.value)
