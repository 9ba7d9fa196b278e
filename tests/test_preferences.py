"""Channel choice at send time (herald/preferences.py): pure, no server."""

from __future__ import annotations

import pytest

from herald.kinds import ALL_CHANNELS, CHANNEL_ORDER, KINDS, OPTIONAL_KINDS, Channel
from herald.preferences import ChannelChoice, Route, choose_channels
from herald.store import Contact, PreferenceSet

# The external channels; the in-app inbox has tests of its own below.
ALL = frozenset(CHANNEL_ORDER)
EMAIL, SMS, WHATSAPP = Channel.EMAIL, Channel.SMS, Channel.WHATSAPP
MANDATORY = ("loan.created", "loan.overdue", "loan.returned")
ALL_ON = PreferenceSet(email=True, sms=True, whatsapp=True)
ALL_OFF = PreferenceSet(email=False, sms=False, whatsapp=False)


def contact(
    email: str | None = "ada@example.org",
    phone: str | None = "+33612345678",
    whatsapp: str | None = "+33698765432",
) -> Contact:
    return Contact(
        id="ada",
        name="Ada",
        email=email,
        phone=phone,
        whatsapp=whatsapp,
        locale="fr",
        timezone="Europe/Paris",
    )


def choose(
    kind: str,
    who: Contact | None = None,
    prefs: PreferenceSet | None = None,
    configured: frozenset[Channel] | set[Channel] = ALL,
) -> dict[Channel, ChannelChoice]:
    choices = choose_channels(KINDS[kind], who or contact(), prefs or PreferenceSet(), configured)
    assert [c.channel for c in choices] == list(ALL_CHANNELS)  # one choice per channel
    for c in choices:
        assert (c.reason is None) or isinstance(c.reason, str)
        if c.send:
            assert c.address
    # Tests of the external channels leave the in-app inbox unconfigured and out of view.
    return {c.channel: c for c in choices if c.channel in configured or c.channel in CHANNEL_ORDER}


def sent(choices: dict[Channel, ChannelChoice]) -> list[Channel]:
    return [ch for ch, c in choices.items() if c.send]


def test_mandatory_kinds_are_the_three_notices() -> None:
    assert {k for k, v in KINDS.items() if v.mandatory} == set(MANDATORY)
    # System alerts and digests cannot be switched off one by one; the daily summary is
    # switched off on its own (herald summary set ID --at off).
    assert set(OPTIONAL_KINDS) == {
        k for k in KINDS if k not in MANDATORY and not k.startswith(("system.", "digest."))
    } - {"crm.daily_summary"}


def test_default_preferences_send_by_email_only() -> None:
    choices = choose("loan.reminder_j1")
    assert sent(choices) == [EMAIL]
    assert choices[EMAIL] == ChannelChoice(EMAIL, True, "ada@example.org", None)
    assert choices[SMS].reason == "sms switched off in preferences"
    assert choices[WHATSAPP].reason == "whatsapp switched off in preferences"
    assert choices[SMS].address == "+33612345678"  # shown, although not used


@pytest.mark.parametrize(
    ("prefs", "expected"),
    [
        (PreferenceSet(email=True, sms=False, whatsapp=False), [EMAIL]),
        (PreferenceSet(email=False, sms=True, whatsapp=False), [SMS]),
        (PreferenceSet(email=False, sms=False, whatsapp=True), [WHATSAPP]),
        (PreferenceSet(email=True, sms=True, whatsapp=False), [EMAIL, SMS]),
        (ALL_ON, [EMAIL, SMS, WHATSAPP]),
        (ALL_OFF, []),
    ],
    ids=["email", "sms", "whatsapp", "email+sms", "all", "none"],
)
def test_channel_toggles(prefs: PreferenceSet, expected: list[Channel]) -> None:
    choices = choose("loan.reminder_2h", prefs=prefs)
    assert sent(choices) == expected
    for channel in set(CHANNEL_ORDER) - set(expected):
        assert choices[channel].reason == f"{channel.value} switched off in preferences"


@pytest.mark.parametrize("kind", OPTIONAL_KINDS)
def test_optional_kind_switched_off_skips_every_channel(kind: str) -> None:
    prefs = PreferenceSet(email=True, sms=True, whatsapp=True, kinds={kind: False})
    choices = choose(kind, prefs=prefs)
    assert sent(choices) == []
    for c in choices.values():
        assert kind in (c.reason or "")
        assert c.reason == f"{kind} switched off in preferences"
    # Another optional kind is unaffected.
    other = next(k for k in OPTIONAL_KINDS if k != kind)
    assert sent(choose(other, prefs=prefs)) == [EMAIL, SMS, WHATSAPP]


def test_kind_switched_on_explicitly_is_sent() -> None:
    prefs = PreferenceSet(kinds={"loan.reminder_j2": True})
    assert sent(choose("loan.reminder_j2", prefs=prefs)) == [EMAIL]


@pytest.mark.parametrize(
    ("who", "channel", "reason"),
    [
        (contact(email=None), EMAIL, "no e-mail address"),
        (contact(email=""), EMAIL, "no e-mail address"),
        (contact(phone=None), SMS, "no phone number"),
        (contact(whatsapp=None), WHATSAPP, "no WhatsApp number"),
    ],
    ids=["no-email", "empty-email", "no-phone", "no-whatsapp"],
)
def test_missing_address(who: Contact, channel: Channel, reason: str) -> None:
    choices = choose("loan.reminder_2h", who, ALL_ON)
    assert choices[channel].send is False
    assert choices[channel].reason == reason
    assert sent(choices) == [ch for ch in CHANNEL_ORDER if ch != channel]


@pytest.mark.parametrize("channel", list(CHANNEL_ORDER))
def test_channel_without_provider(channel: Channel) -> None:
    configured = ALL - {channel}
    choices = choose("loan.reminder_2h", prefs=ALL_ON, configured=configured)
    assert choices[channel].send is False
    assert choices[channel].reason == f"no {channel.value} provider configured"
    assert sent(choices) == [ch for ch in CHANNEL_ORDER if ch != channel]


def test_no_sms_provider_reason_wording() -> None:
    choices = choose("loan.reminder_2h", prefs=ALL_ON, configured={EMAIL})
    assert choices[SMS].reason == "no sms provider configured"
    assert choices[WHATSAPP].reason == "no whatsapp provider configured"


@pytest.mark.parametrize("kind", MANDATORY)
@pytest.mark.parametrize(
    ("who", "configured", "fallback"),
    [
        pytest.param(contact(), ALL, EMAIL, id="email-first"),
        pytest.param(contact(email=None), ALL, SMS, id="no-email-then-sms"),
        pytest.param(contact(email=None, phone=None), ALL, WHATSAPP, id="only-whatsapp"),
        pytest.param(contact(), frozenset({SMS, WHATSAPP}), SMS, id="email-not-configured"),
        pytest.param(contact(phone=None), frozenset({SMS, WHATSAPP}), WHATSAPP, id="sms-unusable"),
    ],
)
def test_mandatory_kind_with_every_channel_off_uses_first_reachable_channel(
    kind: str, who: Contact, configured: frozenset[Channel], fallback: Channel
) -> None:
    choices = choose(kind, who, ALL_OFF, configured)
    assert sent(choices) == [fallback]
    chosen = choices[fallback]
    assert chosen.address == who.address(fallback)
    assert chosen.reason is not None and "mandatory" in chosen.reason
    for channel, c in choices.items():
        if channel != fallback:
            assert c.send is False and c.reason and "mandatory" not in c.reason


@pytest.mark.parametrize("kind", MANDATORY)
def test_mandatory_kind_cannot_be_muted_by_kind_toggle(kind: str) -> None:
    prefs = PreferenceSet(email=True, sms=True, whatsapp=False, kinds={kind: False})
    choices = choose(kind, prefs=prefs)
    assert sent(choices) == [EMAIL, SMS]
    assert choices[EMAIL].reason is None and choices[SMS].reason is None
    # Muted kind and every channel off: still one fallback channel.
    muted = PreferenceSet(email=False, sms=False, whatsapp=False, kinds={kind: False})
    assert sent(choose(kind, prefs=muted)) == [EMAIL]


@pytest.mark.parametrize("kind", MANDATORY)
def test_mandatory_kind_uses_enabled_channels_without_fallback(kind: str) -> None:
    # SMS is on and usable: no extra e-mail is added for a mandatory notice.
    prefs = PreferenceSet(email=False, sms=True, whatsapp=False)
    choices = choose(kind, prefs=prefs)
    assert sent(choices) == [SMS]
    assert choices[SMS].reason is None
    assert choices[EMAIL].reason == "email switched off in preferences"


@pytest.mark.parametrize("kind", MANDATORY)
def test_mandatory_kind_with_only_unusable_enabled_channel_falls_back(kind: str) -> None:
    # SMS is the only channel on but there is no phone number: fall back to e-mail.
    prefs = PreferenceSet(email=False, sms=True, whatsapp=False)
    choices = choose(kind, contact(phone=None), prefs)
    assert sent(choices) == [EMAIL]
    assert "mandatory" in (choices[EMAIL].reason or "")
    assert choices[SMS].reason == "no phone number"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("prefs", [PreferenceSet(), ALL_ON, ALL_OFF], ids=["default", "on", "off"])
def test_person_reachable_by_nothing_gets_nothing(kind: str, prefs: PreferenceSet) -> None:
    nobody = contact(email=None, phone=None, whatsapp=None)
    choices = choose(kind, nobody, prefs)
    assert sent(choices) == []
    assert [c.reason for c in choices.values()] == [
        "no e-mail address",
        "no phone number",
        "no WhatsApp number",
    ]


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_provider_configured_sends_nothing(kind: str) -> None:
    choices = choose(kind, prefs=ALL_ON, configured=frozenset())
    assert sent(choices) == []
    assert all(c.reason == f"no {ch.value} provider configured" for ch, c in choices.items())


# ---------------------------------------------------------------- in-app inbox


def test_in_app_is_on_by_default_beside_the_external_channels() -> None:
    choices = choose("loan.reminder_j1", configured=frozenset(Channel))
    assert sent(choices) == [EMAIL, Channel.IN_APP]
    assert choices[Channel.IN_APP].address == "ada"


def test_in_app_follows_its_toggle_and_the_kind_toggle() -> None:
    off = choose(
        "loan.reminder_j1", prefs=PreferenceSet(in_app=False), configured=frozenset(Channel)
    )
    assert off[Channel.IN_APP].reason == "in_app switched off in preferences"
    muted = choose(
        "loan.reminder_j1",
        prefs=PreferenceSet(kinds={"loan.reminder_j1": False}),
        configured=frozenset(Channel),
    )
    assert sent(muted) == []


def test_in_app_alone_does_not_satisfy_a_mandatory_notice() -> None:
    """Every external toggle off: the overdue alert still goes by e-mail, besides the inbox."""
    choices = choose("loan.overdue", prefs=ALL_OFF, configured=frozenset(Channel))
    assert sent(choices) == [EMAIL, Channel.IN_APP]
    assert "mandatory" in (choices[EMAIL].reason or "")


# ---------------------------------------------------------------- category opt-outs

PERSON = contact()


def test_a_category_opt_out_silences_its_kinds_and_says_why() -> None:
    prefs = PreferenceSet(categories={"leads": False})
    route = Route("high", (Channel.SMS, Channel.IN_APP))
    choices = {
        c.channel: c
        for c in choose_channels(
            KINDS["lead.assigned"], PERSON, prefs, frozenset(ALL_CHANNELS), route
        )
    }
    assert sent(choices) == []
    assert choices[Channel.SMS].reason == "leads switched off in preferences"
    # Another category is untouched.
    other = choose_channels(KINDS["user.welcome"], PERSON, prefs, frozenset(ALL_CHANNELS), route)
    assert [c.channel for c in other if c.send] == [Channel.SMS, Channel.IN_APP]


def test_an_opt_out_never_silences_an_urgent_notice_of_ones_own_obligation() -> None:
    prefs = PreferenceSet(categories={"followups": False}, sms=False, email=False)
    urgent = Route("urgent", (Channel.SMS, Channel.EMAIL, Channel.IN_APP))
    own = choose_channels(
        KINDS["followup.overdue"],
        PERSON,
        prefs,
        frozenset(ALL_CHANNELS),
        urgent,
        own_obligation=True,
    )
    reached = [c for c in own if c.send]
    assert [c.channel for c in reached if c.channel is not Channel.IN_APP] == [Channel.EMAIL]
    assert "own obligation" in (reached[0].reason or "")
    # The manager's copy of the same alert is theirs to silence.
    copy = choose_channels(
        KINDS["followup.overdue"], PERSON, prefs, frozenset(ALL_CHANNELS), urgent
    )
    assert [c for c in copy if c.send] == []


def test_an_overdue_loan_reaches_a_borrower_who_opted_out_of_loans() -> None:
    prefs = PreferenceSet(categories={"loans": False})
    choices = choose_channels(KINDS["loan.overdue"], PERSON, prefs, frozenset(ALL_CHANNELS))
    assert Channel.EMAIL in [c.channel for c in choices if c.send]
    reminder = choose_channels(KINDS["loan.reminder_j1"], PERSON, prefs, frozenset(ALL_CHANNELS))
    assert [c for c in reminder if c.send] == []


def test_a_category_limited_to_the_inbox_keeps_sms_for_the_others() -> None:
    """AAA CRM's "SMS opt-out for non-critical categories": leads in-app only."""
    prefs = PreferenceSet(categories={"leads": ["in_app"]})
    route = Route("high", (Channel.SMS, Channel.IN_APP))
    lead = {
        c.channel: c
        for c in choose_channels(
            KINDS["lead.assigned"], PERSON, prefs, frozenset(ALL_CHANNELS), route
        )
    }
    assert sent(lead) == [Channel.IN_APP]
    assert lead[Channel.SMS].reason == "leads: only in_app in preferences"
    other = choose_channels(KINDS["user.welcome"], PERSON, prefs, frozenset(ALL_CHANNELS), route)
    assert [c.channel for c in other if c.send] == [Channel.SMS, Channel.IN_APP]
    # A mandatory notice is never held to a category's channels.
    loans = PreferenceSet(categories={"loans": ["in_app"]})
    overdue = choose_channels(KINDS["loan.overdue"], PERSON, loans, frozenset(ALL_CHANNELS))
    assert Channel.EMAIL in [c.channel for c in overdue if c.send]
