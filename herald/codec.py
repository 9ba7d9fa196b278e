"""Encryption of everything Herald puts in Temporal: workflow and activity payloads carry
names, e-mail addresses and phone numbers, so they leave the process as ciphertext.

AES-256-GCM; each payload records the id of the key that sealed it, so keys can rotate:
the first key in ``HERALD_ENCRYPTION_KEYS`` encrypts, every listed key decrypts. Payloads
written before encryption was switched on pass through unchanged, unless
``HERALD_REQUIRE_ENCRYPTION`` is set: then a plaintext payload is refused with a
non-retryable failure (a workflow started in plaintext fails at once, saying why). Failures are encoded too
(their messages can quote an address), through ``DefaultFailureConverterWithEncodedAttributes``.
A client, a worker or a UI without the keys sees only ciphertext; a Herald client without
keys says so in one line instead of failing to convert it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.exceptions import ApplicationError

from herald.errors import HeraldError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


PLAINTEXT_REFUSED = "PlaintextPayloadRefused"


class EncryptionKeyError(HeraldError, ValueError):
    """A key setting that cannot be used (wrong length, not base64, no id)."""


class UndecryptablePayload(HeraldError, ValueError):
    """An encrypted payload this process cannot open (no keys, unknown key, tampered)."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """``id1:base64key,id2:base64key`` → ordered {id: 32-byte key}; the first one encrypts."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id:
            raise EncryptionKeyError(
                "each encryption key is written ID:BASE64 (e.g. k2026:AbC...=)"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionKeyError(f"encryption key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise EncryptionKeyError(
                f"encryption key {key_id!r} has {len(key)} bytes; AES-256 needs 32"
            )
        keys[key_id] = key
    return keys


def new_key() -> str:
    """A fresh random key, base64-encoded."""
    return base64.b64encode(os.urandom(32)).decode()


def new_key_entry(key_id: str) -> str:
    """``id:key``, ready for ``HERALD_ENCRYPTION_KEYS`` (``herald codec-server --new-key``)."""
    if not key_id or any(c in key_id for c in ",: ") or not key_id.isprintable():
        raise EncryptionKeyError(f"key id {key_id!r} cannot contain ',', ':' or spaces")
    entry = f"{key_id}:{new_key()}"
    parse_keys(entry)  # what is printed is what the setting accepts
    return entry


def key_id_of(payload: Payload) -> str | None:
    """The id of the key that sealed ``payload``; None when it is not encrypted."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    return payload.metadata.get(KEY_ID, b"").decode(errors="replace")


class EncryptionCodec(PayloadCodec):
    """Seals with the first key, opens with any. ``require_encrypted`` refuses plaintext
    payloads on decode with a non-retryable failure instead of passing them through."""

    def __init__(self, keys: dict[str, bytes], *, require_encrypted: bool = False) -> None:
        if not keys:
            raise EncryptionKeyError("no encryption key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = next(iter(keys))
        self.require_encrypted = require_encrypted

    @property
    def active_key_id(self) -> str:
        return self._active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._active].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._active.encode()},
            data=nonce + sealed,
        )

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p, strict=self.require_encrypted) for p in payloads]

    def decrypt(self, payload: Payload, *, strict: bool = False) -> Payload:
        key_id = key_id_of(payload)
        if key_id is None:
            if strict:
                raise ApplicationError(
                    "plaintext payload refused: HERALD_REQUIRE_ENCRYPTION is set here, and the "
                    "sender had no HERALD_ENCRYPTION_KEYS; set the same keys on every client",
                    type=PLAINTEXT_REFUSED,
                    non_retryable=True,
                )
            return payload  # written before encryption was switched on
        aead = self._keys.get(key_id)
        if aead is None:
            raise UndecryptablePayload(
                f"payload sealed with unknown key {key_id!r}: add it to HERALD_ENCRYPTION_KEYS"
            )
        try:
            clear = aead.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise UndecryptablePayload(
                f"payload sealed with key {key_id!r} failed authentication"
            ) from None
        return Payload.FromString(clear)


class KeylessCodec(PayloadCodec):
    """For processes without keys: plaintext passes both ways, and an encrypted payload
    is reported in one clear sentence rather than as an unknown encoding."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for p in payloads:
            key_id = key_id_of(p)
            if key_id is not None:
                raise UndecryptablePayload(
                    f"cannot read an encrypted payload (key {key_id!r}): HERALD_ENCRYPTION_KEYS "
                    "is not set in this process; set it to the keys the worker uses"
                )
        return list(payloads)


def with_encryption(
    converter: DataConverter, keys: dict[str, bytes], *, require_encrypted: bool = False
) -> DataConverter:
    """``converter`` with payloads and failures encrypted under ``keys``."""
    return dataclasses.replace(
        converter,
        payload_codec=EncryptionCodec(keys, require_encrypted=require_encrypted),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
