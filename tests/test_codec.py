"""Payload encryption: the codec, key rotation, and the codec server the Temporal UI calls."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.exceptions import ApplicationError

from herald.codec import (
    ENCODING,
    PLAINTEXT_REFUSED,
    EncryptionCodec,
    EncryptionKeyError,
    KeylessCodec,
    UndecryptablePayload,
    new_key,
    parse_keys,
)
from herald.codec_server import CodecServer
from herald.ops import check_encryption
from herald.settings import Settings
from herald.temporal import EncryptionRequired, check_encrypted, data_converter

HERALD = str(Path(sys.executable).parent / "herald")

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
    ids=["no-id", "not-base64", "16-bytes"],  # the random key must not name the test
)
def test_bad_keys_are_refused_with_the_reason(spec: str, message: str) -> None:
    with pytest.raises(EncryptionKeyError, match=message):
        parse_keys(spec)


UI = "http://localhost:8233"
SEALED = EncryptionCodec(parse_keys(f"k1:{KEY_A}")).encrypt(CLEAR)


def as_json(*payloads: Payload) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=list(payloads)))


def from_json(body: dict[str, Any]) -> list[Payload]:
    out = Payloads()
    json_format.ParseDict(body, out)
    return list(out.payloads)


def serve(**kw: Any) -> CodecServer:
    settings = Settings(
        encryption_keys=SecretStr(f"k1:{KEY_A}"),
        codec_token=SecretStr("s3cret"),
        codec_cors_origins=f"{UI},http://127.0.0.1:8233",
    )
    return CodecServer(settings, port=0, **kw).start()


@pytest.fixture(scope="module")
def codec_server() -> Iterator[CodecServer]:
    server = serve()
    yield server
    server.stop()


@pytest.fixture
def http(codec_server: CodecServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=codec_server.url, timeout=30) as client:
        yield client


AUTH = {"Authorization": "Bearer s3cret"}
# What the Temporal UI's fetch sends with a decode call.
UI_HEADERS = {**AUTH, "Origin": UI, "X-Namespace": "default", "Content-Type": "application/json"}


def test_decodes_the_request_the_ui_sends(http: httpx.Client) -> None:
    response = http.post(
        "/decode?preserveStorageRefs=true", json=as_json(SEALED, CLEAR), headers=UI_HEADERS
    )
    assert response.status_code == 200, response.text
    # Plaintext passes through: the UI sends every payload of a history.
    assert from_json(response.json()) == [CLEAR, CLEAR]
    assert response.headers["access-control-allow-origin"] == UI
    encoded = http.post("/encode", json=as_json(CLEAR), headers=UI_HEADERS)
    assert encoded.status_code == 200
    [sealed] = from_json(encoded.json())
    assert sealed.metadata["encoding"] == ENCODING and b"ana@" not in sealed.data
    assert EncryptionCodec(parse_keys(f"k1:{KEY_A}")).decrypt(sealed) == CLEAR


def test_preflight_allows_the_ui_origin_and_its_headers_only(http: httpx.Client) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    response = http.options("/decode?preserveStorageRefs=true", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"content-type", "x-namespace", "authorization"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert "POST" in response.headers["access-control-allow-methods"]
    evil = http.options("/decode", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    # A plain POST from another origin is answered without the header the browser needs.
    other = http.post("/decode", json=as_json(SEALED), headers={**AUTH, "Origin": "https://x.y"})
    assert "access-control-allow-origin" not in other.headers


def test_refuses_without_the_token(http: httpx.Client) -> None:
    body = as_json(SEALED)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        response = http.post("/decode", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "missing or wrong access token"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"payloads": 3}', "must be a JSON object"),
        (b'{"nothing": []}', "must be a JSON object"),
        (b'{"payloads": [{"data": "%%% not base64"}]}', "not Temporal payloads"),
        (b'{"payloads": [{"metadata": 5}]}', "not Temporal payloads"),
    ],
)
def test_malformed_bodies_get_a_400_with_the_reason(
    http: httpx.Client, content: bytes, message: str
) -> None:
    response = http.post("/decode", content=content, headers=UI_HEADERS)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert response.headers["access-control-allow-origin"] == UI  # the UI can read the error


def test_unknown_key_and_tampered_payload_are_a_clear_400(http: httpx.Client) -> None:
    foreign = EncryptionCodec(parse_keys(f"k9:{KEY_B}")).encrypt(CLEAR)
    response = http.post("/decode", json=as_json(foreign), headers=UI_HEADERS)
    assert response.status_code == 400
    assert "unknown key 'k9'" in response.json()["error"]
    tampered = Payload(metadata=SEALED.metadata, data=SEALED.data[:-1] + b"\x00")
    response = http.post("/decode", json=as_json(tampered), headers=UI_HEADERS)
    assert response.status_code == 400 and "failed authentication" in response.json()["error"]


def test_other_paths_and_methods(http: httpx.Client) -> None:
    assert http.post("/decrypt", json=as_json(SEALED), headers=AUTH).status_code == 404
    assert http.get("/decode", headers=AUTH).status_code == 405


def raw_exchange(server: CodecServer, request: bytes) -> bytes:
    """Send ``request`` as is, then read until the server closes (the hang guard is long)."""
    host, port = server.socket.getsockname()[:2]
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_negative_content_length_is_refused_not_trusted(codec_server: CodecServer) -> None:
    answer = raw_exchange(
        codec_server,
        b"POST /decode HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
        b"Content-Length: -1\r\nConnection: close\r\n\r\n" + b"x" * 1000,
    )
    assert answer.startswith(b"HTTP/1.1 400")


def test_body_limit_counts_streamed_bytes() -> None:
    server = serve(max_body=1024)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            # No Content-Length at all: a chunked body, refused once it passes the limit.
            chunks = iter([b'{"payloads": [', b" " * 2048, b"]}"])
            response = http.post("/decode", content=chunks, headers=AUTH)
            assert response.status_code == 413
            assert "over 1024 bytes" in response.json()["error"]
            small = http.post("/decode", json=as_json(SEALED), headers=AUTH)
            assert small.status_code == 200
    finally:
        server.stop()


def test_half_sent_requests_do_not_hold_the_server() -> None:
    server = serve(body_timeout=0.5, header_timeout=0.5)
    try:
        # The headers promise 100 bytes; 10 arrive; the server answers instead of waiting.
        answer = raw_exchange(
            server,
            b"POST /decode HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"payloads"',
        )
        assert answer.startswith(b"HTTP/1.1 408")
        # Headers that never end: the connection is closed without an answer.
        assert raw_exchange(server, b"POST /decode HTTP/1.1\r\nHost: x\r\n") == b""
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.post("/decode", json=as_json(SEALED), headers=AUTH).status_code == 200
    finally:
        server.stop()


def test_codec_server_without_token_stays_on_loopback() -> None:
    settings = Settings(encryption_keys=SecretStr(f"k1:{KEY_A}"))
    with pytest.raises(ValueError, match="HERALD_CODEC_TOKEN"):
        CodecServer(settings, host="0.0.0.0", port=0)
    with pytest.raises(ValueError, match="HERALD_ENCRYPTION_KEYS is not set"):
        CodecServer(Settings(), port=0)


def herald_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HERALD_", "TEMPORAL_"))}
    return subprocess.run(
        [HERALD, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_new_key_prints_a_complete_setting_entry() -> None:
    proc = herald_cli("codec-server", "--new-key", "--key-id", "k2027")
    assert proc.returncode == 0, proc.stderr
    entry = proc.stdout.strip()
    assert entry.startswith("k2027:") and len(parse_keys(entry)["k2027"]) == 32
    default = herald_cli("codec-server", "--new-key").stdout.strip()
    assert list(parse_keys(default)) == [default.split(":")[0]] and default.startswith("k20")
    bad = herald_cli("codec-server", "--new-key", "--key-id", "a,b")
    assert bad.returncode == 2 and "cannot contain" in bad.stderr


# ---------------------------------------------------------------- encryption required


def test_required_encryption_without_keys_refuses_every_client(tmp_path: Path) -> None:
    from starter.client import Herald

    settings = Settings(require_encryption=True, data_dir=tmp_path)
    with pytest.raises(EncryptionRequired, match="HERALD_ENCRYPTION_KEYS is not"):
        data_converter(settings)
    with pytest.raises(EncryptionRequired):
        Herald(None, None, settings)  # type: ignore[arg-type]
    proc = herald_cli(
        "loan", "status", "L-1", HERALD_REQUIRE_ENCRYPTION="true", HERALD_DATA_DIR=str(tmp_path)
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        proc.stderr.count("\n") == 1 and "refusing to talk to Temporal in plaintext" in proc.stderr
    )


def test_required_encryption_refuses_a_client_built_without_the_codec() -> None:
    keyed = Settings(encryption_keys=SecretStr(f"k1:{KEY_A}"), require_encryption=True)
    converter = data_converter(keyed)
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.require_encrypted

    class _Stub:
        data_converter = data_converter(Settings())

    with pytest.raises(EncryptionRequired, match="no encryption codec"):
        check_encrypted(_Stub(), keyed)  # type: ignore[arg-type]
    check_encrypted(_Stub(), Settings())  # not required: anything goes


async def test_strict_codec_refuses_plaintext_with_a_non_retryable_failure() -> None:
    strict = EncryptionCodec(parse_keys(f"k1:{KEY_A}"), require_encrypted=True)
    assert await strict.decode([SEALED]) == [CLEAR]
    with pytest.raises(ApplicationError) as caught:
        await strict.decode([CLEAR])
    assert caught.value.non_retryable and caught.value.type == PLAINTEXT_REFUSED
    assert "HERALD_REQUIRE_ENCRYPTION" in str(caught.value)


async def test_a_process_without_keys_names_the_problem() -> None:
    converter = data_converter(Settings())
    assert isinstance(converter.payload_codec, KeylessCodec)
    assert await converter.payload_codec.decode([CLEAR]) == [CLEAR]
    with pytest.raises(UndecryptablePayload, match="key 'k1'.*HERALD_ENCRYPTION_KEYS is not set"):
        await converter.decode([SEALED])


# ---------------------------------------------------------------- herald doctor


async def test_doctor_checks_keys_and_the_codec_server(codec_server: CodecServer) -> None:
    keys = SecretStr(f"k1:{KEY_A}")
    assert await check_encryption(Settings()) == []
    assert (
        "HERALD_ENCRYPTION_KEYS" in (await check_encryption(Settings(require_encryption=True)))[0]
    )
    bad = await check_encryption(Settings(encryption_keys=SecretStr("k1:short")))
    assert len(bad) == 1 and "not valid base64" in bad[0]
    good = Settings(
        encryption_keys=keys, codec_token=SecretStr("s3cret"), codec_endpoint=codec_server.url
    )
    assert await check_encryption(good) == []
    wrong_token = good.model_copy(update={"codec_token": SecretStr("nope")})
    assert "refused the token" in (await check_encryption(wrong_token))[0]
    # Rotated here but not on the codec server: the UI would show errors.
    rotated = good.model_copy(update={"encryption_keys": SecretStr(f"k2:{KEY_B},k1:{KEY_A}")})
    [problem] = await check_encryption(rotated)
    assert "answered 400" in problem and "unknown key 'k2'" in problem
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{free.getsockname()[1]}"
    down = good.model_copy(update={"codec_endpoint": nobody})
    assert "unreachable" in (await check_encryption(down))[0]


def test_doctor_prints_what_is_fine(codec_server: CodecServer, capsys: Any) -> None:
    import asyncio

    settings = Settings(
        encryption_keys=SecretStr(f"k2:{KEY_B},k1:{KEY_A}"),
        require_encryption=True,
        codec_token=SecretStr("s3cret"),
        codec_endpoint=codec_server.url,
    )
    problems = asyncio.run(check_encryption(settings))
    out = capsys.readouterr().out
    assert "ok: encryption keys k2, k1; k2 encrypts, required" in out
    assert len(problems) == 1 and "unknown key 'k2'" in problems[0]


def test_sync_client_refuses_to_start_in_plaintext(tmp_path: Path) -> None:
    from starter.sync import SyncHerald

    with pytest.raises(EncryptionRequired):
        SyncHerald(Settings(require_encryption=True, data_dir=tmp_path))
    assert not (tmp_path / "herald.db").exists()  # refused before touching the database


async def test_doctor_reports_missing_required_keys_once(
    tmp_path: Path, capsys: Any, silent_server: int
) -> None:
    from herald.ops import doctor

    settings = Settings(
        require_encryption=True, data_dir=tmp_path, temporal_address=f"127.0.0.1:{silent_server}"
    )
    assert await doctor(settings) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if "problem" in line]
    assert "refusing to talk to Temporal in plaintext" in problems[0]
    assert not any("unreachable" in p for p in problems)  # not blamed on Temporal


def test_cli_codec_server_serves_until_stopped() -> None:
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HERALD_", "TEMPORAL_"))}
    proc = subprocess.Popen(
        [HERALD, "codec-server", "--port", "0"],
        env={**clean, "HERALD_ENCRYPTION_KEYS": f"k1:{KEY_A}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("codec server on http://127.0.0.1:"), proc.stderr
        url = line.split()[3]
        with httpx.Client(timeout=30) as http:
            response = http.post(f"{url}/decode?preserveStorageRefs=true", json=as_json(SEALED))
        assert response.status_code == 200 and from_json(response.json()) == [CLEAR]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_codec_server_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        proc = herald_cli("codec-server", "--port", port, HERALD_ENCRYPTION_KEYS=f"k1:{KEY_A}")
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr


def test_connections_beyond_the_limit_get_503() -> None:
    import http.client
    import json

    server = serve(limit_concurrency=2)
    host, port = server.socket.getsockname()[:2]
    held = http.client.HTTPConnection(host, port, timeout=30)
    try:
        # One connection served and kept alive: it counts against the limit.
        held.request("POST", "/decode", json.dumps(as_json(SEALED)), AUTH)
        first = held.getresponse()
        assert first.status == 200 and from_json(json.loads(first.read())) == [CLEAR]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.post("/decode", json=as_json(SEALED), headers=AUTH)
        assert response.status_code == 503
    finally:
        held.close()
        server.stop()


@pytest.mark.parametrize("command", ["worker", "dev", "setup"])
def test_processes_refuse_to_start_without_required_keys(tmp_path: Path, command: str) -> None:
    proc = herald_cli(command, HERALD_REQUIRE_ENCRYPTION="true", HERALD_DATA_DIR=str(tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "refusing to talk to Temporal in plaintext" in proc.stderr
    assert not (tmp_path / "herald.db").exists() and not (tmp_path / "temporal.db").exists()
