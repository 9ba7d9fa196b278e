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
        ("José@example.org", "José@example.org"),  # internationalised local part
        ("jean@exämple.fr", "jean@exämple.fr"),  # internationalised domain
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
        "  ada@example.org ",
        "ada@@example.org",
        "ada@example.test",  # special-use domain
        "Ada <ada@example.org>",  # display names are not addresses
    ],
)
def test_normalise_email_refuses_bad_syntax(no_network: None, value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email(value)
    assert repr(value) in str(err.value)
    assert str(err.value).startswith("invalid e-mail")


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
