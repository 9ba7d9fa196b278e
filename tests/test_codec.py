"""Payload encryption: the codec, key rotation, and the codec server the Temporal UI calls."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads

from herald.codec import ENCODING, EncryptionCodec, EncryptionKeyError, new_key, parse_keys
from herald.codec_server import CodecServer
from herald.settings import Settings
from tests.smtp_server import free_port

KEY_A, KEY_B = new_key(), new_key()
CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "ana@example.org"}')


def test_round_trip_records_the_key_id_and_hides_the_data() -> None:
    codec = EncryptionCodec(parse_keys(f"k1:{KEY_A}"))
    sealed = codec.encrypt(CLEAR)
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"k1"
    assert b"ana@example.org" not in sealed.data
    assert codec.decrypt(sealed) == CLEAR
    assert codec.encrypt(CLEAR).data != sealed.data  # a fresh nonce every time


def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    old = EncryptionCodec(parse_keys(f"k1:{KEY_A}"))
    rotated = EncryptionCodec(parse_keys(f"k2:{KEY_B},k1:{KEY_A}"))
    assert rotated.decrypt(old.encrypt(CLEAR)) == CLEAR
    assert rotated.encrypt(CLEAR).metadata["encryption-key-id"] == b"k2"
    with pytest.raises(ValueError, match="unknown key 'k2'"):
        old.decrypt(rotated.encrypt(CLEAR))


def test_tampering_and_plain_payloads() -> None:
    codec = EncryptionCodec(parse_keys(f"k1:{KEY_A}"))
    sealed = codec.encrypt(CLEAR)
    tampered = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    with pytest.raises(ValueError, match="failed authentication"):
        codec.decrypt(tampered)
    assert codec.decrypt(CLEAR) == CLEAR  # written before encryption was switched on


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nokey", "ID:BASE64"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(os.urandom(16)).decode()}", "has 16 bytes"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(spec: str, message: str) -> None:
    with pytest.raises(EncryptionKeyError, match=message):
        parse_keys(spec)


@pytest.fixture
def codec_server() -> Iterator[CodecServer]:
    settings = Settings(encryption_keys=SecretStr(f"k1:{KEY_A}"), codec_token=SecretStr("s3cret"))
    server = CodecServer(settings, port=free_port()).start()
    yield server
    server.stop()


def call(
    server: CodecServer, path: str, body: Any, *, method: str = "POST", **headers: str
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def test_codec_server_decodes_for_the_ui_with_the_token(codec_server: CodecServer) -> None:
    sealed = EncryptionCodec(parse_keys(f"k1:{KEY_A}")).encrypt(CLEAR)
    body = json_format.MessageToDict(Payloads(payloads=[sealed]))
    status, headers, answer = call(
        codec_server,
        "/decode",
        body,
        Authorization="Bearer s3cret",
        **{"X-Namespace": "default", "Origin": "http://localhost:8233"},
    )
    assert status == 200
    decoded = Payloads()
    json_format.ParseDict(answer, decoded)
    assert list(decoded.payloads) == [CLEAR]
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
    status, _, encoded = call(
        codec_server,
        "/encode",
        json_format.MessageToDict(Payloads(payloads=[CLEAR])),
        Authorization="Bearer s3cret",
    )
    assert (
        status == 200
        and encoded["payloads"][0]["metadata"]["encoding"] == base64.b64encode(ENCODING).decode()
    )


def test_codec_server_refuses_without_the_token_and_answers_preflight(
    codec_server: CodecServer,
) -> None:
    body = json_format.MessageToDict(Payloads(payloads=[CLEAR]))
    assert call(codec_server, "/decode", body)[0] == 401
    assert call(codec_server, "/decode", body, Authorization="Bearer wrong")[0] == 401
    status, headers, _ = call(
        codec_server, "/decode", None, method="OPTIONS", Origin="http://localhost:8233"
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    _, headers, _ = call(
        codec_server, "/decode", None, method="OPTIONS", Origin="https://evil.example"
    )
    assert "Access-Control-Allow-Origin" not in headers


def test_codec_server_without_token_stays_on_loopback() -> None:
    settings = Settings(encryption_keys=SecretStr(f"k1:{KEY_A}"))
    with pytest.raises(ValueError, match="HERALD_CODEC_TOKEN"):
        CodecServer(settings, host="0.0.0.0", port=free_port())
