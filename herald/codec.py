"""Encryption of everything Herald puts in Temporal: workflow and activity payloads carry
names, e-mail addresses and phone numbers, so they leave the process as ciphertext.

AES-256-GCM; each payload records the id of the key that sealed it, so keys can rotate:
the first key in ``HERALD_ENCRYPTION_KEYS`` encrypts, every listed key decrypts. Payloads
written before encryption was switched on pass through unchanged. Failures are encoded too
(their messages can quote an address), through ``DefaultFailureConverterWithEncodedAttributes``.
A client, a worker or a UI without the keys sees only ciphertext.
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

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class EncryptionKeyError(ValueError):
    """A key setting that cannot be used (wrong length, not base64, no id)."""


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
    """A fresh random key, base64-encoded (``herald codec-server --new-key`` prints one)."""
    return base64.b64encode(os.urandom(32)).decode()


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise EncryptionKeyError("no encryption key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = next(iter(keys))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._active].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._active.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was switched on
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        aead = self._keys.get(key_id)
        if aead is None:
            raise ValueError(
                f"payload sealed with unknown key {key_id!r}: add it to HERALD_ENCRYPTION_KEYS"
            )
        try:
            clear = aead.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise ValueError(f"payload sealed with key {key_id!r} failed authentication") from None
        return Payload.FromString(clear)


def with_encryption(converter: DataConverter, keys: dict[str, bytes]) -> DataConverter:
    """``converter`` with payloads and failures encrypted under ``keys``."""
    return dataclasses.replace(
        converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
