"""Contact verification (RS Systems): prove an e-mail address or a phone number is the
person's before Herald relies on it.

One Temporal workflow per verification (``ContactVerificationWorkflow``): it sends a code
(six digits by SMS or WhatsApp; by e-mail, a link carrying a long token, or the token
itself when no public address is configured), waits for it on a durable timer until it
expires (``HERALD_VERIFICATION_EXPIRY``, 10 minutes), takes at most
``HERALD_VERIFICATION_ATTEMPTS`` tries, sends a new code on request after a cool-down
(``HERALD_VERIFICATION_RESEND_COOLDOWN``), and records the result on the contact. Only a
salted hash of the code is kept, in the database: never in Temporal's history.

With ``HERALD_REQUIRE_VERIFIED=sms,email``, planning skips those channels for a person
whose address there is not verified, saying so.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from herald.db import Subscriber, Verification, utcnow
from herald.kinds import Channel
from herald.store import VERIFIED_AT, Contact, Store

CODE_DIGITS = 6
TOKEN_BYTES = 24
CONFIRM_PATH = "/v1/verifications/confirm"

MESSAGES = {
    "fr": {
        "code": "{brand} : votre code de vérification est {code}. Il expire dans {minutes} min.",
        "subject": "Vérifiez votre adresse e-mail",
        "link": "Bonjour {name},\n\nConfirmez votre adresse e-mail en ouvrant ce lien "
        "(valable {minutes} min) :\n{link}\n\nSi vous n'êtes pas à l'origine de cette "
        "demande, ignorez ce message.\n\n-- \n{brand}",
        "token": "Bonjour {name},\n\nVotre code de vérification : {code}\nIl expire dans "
        "{minutes} min.\n\n-- \n{brand}",
    },
    "en": {
        "code": "{brand}: your verification code is {code}. It expires in {minutes} min.",
        "subject": "Verify your e-mail address",
        "link": "Hello {name},\n\nConfirm your e-mail address by opening this link (valid "
        "for {minutes} min):\n{link}\n\nIf you did not ask for this, ignore this message."
        "\n\n-- \n{brand}",
        "token": "Hello {name},\n\nYour verification code: {code}\nIt expires in "
        "{minutes} min.\n\n-- \n{brand}",
    },
}


def new_id() -> str:
    return "ver_" + secrets.token_hex(12)


def new_secret(channel: Channel) -> str:
    """Six digits for a phone; a long token for an e-mail link."""
    if channel is Channel.EMAIL:
        return secrets.token_urlsafe(TOKEN_BYTES)
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def secret_hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret.strip()}".encode()).hexdigest()


@dataclass(frozen=True)
class Pending:
    id: str
    subscriber_id: str
    channel: Channel
    address: str


def create(store: Store, contact: Contact, channel: Channel, expires_at: datetime) -> Pending:
    address = contact.address(channel)
    assert address, "checked by the service layer"
    row = Verification(
        id=new_id(),
        subscriber_id=contact.id,
        channel=channel.value,
        address=address,
        salt=secrets.token_hex(8),
        status="pending",
        attempts=0,
        sends=0,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    with store.session() as s, s.begin():
        s.add(row)
    return Pending(row.id, contact.id, channel, address)


def issue_secret(store: Store, verification_id: str) -> tuple[Verification, str]:
    """A new code for the verification (the previous one stops working)."""
    with store.session() as s, s.begin():
        row = s.get(Verification, verification_id)
        if row is None or row.status != "pending":
            raise LookupError(f"verification {verification_id} is not pending")
        secret = new_secret(Channel(row.channel))
        row.secret_hash = secret_hash(row.salt, secret)
        row.sends += 1
        row.last_sent_at = utcnow()
        s.flush()
        s.expunge(row)
        return row, secret


def check(store: Store, verification_id: str, secret: str) -> bool:
    """Count one try; whether ``secret`` is the current code (constant-time)."""
    with store.session() as s, s.begin():
        row = s.get(Verification, verification_id)
        if row is None or row.status != "pending" or row.secret_hash is None:
            return False
        row.attempts += 1
        return hmac.compare_digest(row.secret_hash, secret_hash(row.salt, secret))


def finish(store: Store, verification_id: str, status: str) -> None:
    """Record the outcome; a success marks the contact's address verified, if it is still
    the address that was verified."""
    with store.session() as s, s.begin():
        row = s.get(Verification, verification_id)
        if row is None or row.status != "pending":
            return
        row.status = status
        row.finished_at = utcnow()
        if status != "verified":
            return
        person = s.get(Subscriber, row.subscriber_id)
        channel = Channel(row.channel)
        current = {
            Channel.EMAIL: person.email if person else None,
            Channel.SMS: person.phone if person else None,
            Channel.WHATSAPP: person.whatsapp if person else None,
        }[channel]
        if person is not None and current == row.address:
            setattr(person, VERIFIED_AT[channel], row.finished_at)


def link_token(verification_id: str, secret: str) -> str:
    """What an e-mail link carries: the verification's id and its secret."""
    return f"{verification_id}.{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(verification id, secret)`` of a link's token, or None if it is not one."""
    vid, sep, secret = token.partition(".")
    if not sep or not vid.startswith("ver_") or len(vid) > 40 or not secret or len(secret) > 100:
        return None
    return vid, secret


def as_dict(row: Verification) -> dict[str, object]:
    return {
        "id": row.id,
        "subscriber_id": row.subscriber_id,
        "channel": row.channel,
        "address": row.address,
        "status": row.status,
        "attempts": row.attempts,
        "sends": row.sends,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def get(store: Store, verification_id: str) -> dict[str, object] | None:
    with store.session() as s:
        row = s.get(Verification, verification_id)
        return as_dict(row) if row else None


def unverified_channels(contact: Contact, required: list[Channel]) -> dict[Channel, str]:
    """The required channels whose address this person has not verified, with the reason
    planning logs."""
    return {
        ch: f"{ch.value} address not verified (HERALD_REQUIRE_VERIFIED)"
        for ch in required
        if contact.address(ch) and not contact.verified(ch)
    }
