"""Ops commands: ``herald migrate``, ``herald setup``, ``herald doctor``."""

from __future__ import annotations

import asyncio

from herald.channels import build_provider
from herald.kinds import ALL_CHANNELS
from herald.schedules import apply_schedules, describe_schedules
from herald.settings import Settings
from herald.store import Store, is_migrated
from herald.store import migrate as migrate_store
from herald.temporal import (
    NO_KEYS,
    EncryptionRequired,
    connect,
    data_converter,
    missing_search_attributes,
    register_search_attributes,
)


async def migrate(settings: Settings) -> int:
    store = Store.from_url(settings.resolved_database_url)
    try:
        await asyncio.to_thread(migrate_store, store.engine)
    finally:
        store.close()
    print(f"database migrated: {store.engine.url.render_as_string(hide_password=True)}")
    return 0


async def setup(settings: Settings) -> int:
    """Idempotent: migrate the database and register Herald's search attributes."""
    data_converter(settings)  # HERALD_REQUIRE_ENCRYPTION without keys: refuse before migrating
    await migrate(settings)
    client = await connect(settings)
    added = await register_search_attributes(client)
    print(
        f"search attributes on namespace {settings.temporal_namespace}: "
        + (f"registered {', '.join(added)}" if added else "all present")
    )
    for schedule_id, outcome in await apply_schedules(client, settings):
        print(f"schedule {schedule_id}: {outcome}")
    return 0


async def schedules(settings: Settings) -> int:
    client = await connect(settings)
    for info in await describe_schedules(client):
        nxt = ", ".join(t.isoformat() for t in info.next_runs) or "-"
        state = "paused" if info.paused else "active"
        print(f"{info.id}: {info.workflow}, {state}, next {nxt}, {info.recent_runs} recent run(s)")
    return 0


async def doctor(settings: Settings) -> int:
    """Check each dependency; print what is wrong and how to fix it. Exit 1 if anything is."""
    problems: list[str] = await check_encryption(settings)
    try:
        client = await asyncio.wait_for(connect(settings), 10)
    except EncryptionRequired:
        pass  # reported by check_encryption
    except Exception as err:  # noqa: BLE001 - reported, not raised
        problems.append(
            f"Temporal at {settings.temporal_address} unreachable ({err}); set TEMPORAL_ADDRESS "
            "or start one (herald dev)"
        )
    else:
        print(
            f"ok: Temporal at {settings.temporal_address}, namespace {settings.temporal_namespace}"
        )
        try:
            missing = await missing_search_attributes(client)
        except Exception as err:  # noqa: BLE001
            problems.append(f"cannot list search attributes: {err}")
        else:
            if missing:
                problems.append(
                    f"search attributes missing: {', '.join(missing)}; run 'herald setup'"
                )
            else:
                print("ok: search attributes registered")
    store = Store.from_url(settings.resolved_database_url)
    url = store.engine.url.render_as_string(hide_password=True)
    try:
        if await asyncio.to_thread(is_migrated, store.engine):
            print(f"ok: database {url} migrated")
        else:
            problems.append(f"database {url} not migrated; run 'herald migrate'")
    except Exception as err:  # noqa: BLE001
        problems.append(
            f"database {url} unreachable ({type(err).__name__}); check HERALD_DATABASE_URL"
        )
    finally:
        store.close()
    for channel in ALL_CHANNELS:
        for name in settings.provider_chain(channel):
            try:
                build_provider(name, channel, settings)
            except Exception as err:  # noqa: BLE001 - reported, not raised
                problems.append(f"{channel.value} provider {name}: {err}")
            else:
                print(f"ok: {channel.value} provider {name} configured")
    if settings.api_url:
        problems.extend(await _check_api(settings.api_url))
    for note in feedback_notes(settings):
        print(f"note: {note}")
    for p in problems:
        print(f"problem: {p}")
    return 1 if problems else 0


def feedback_notes(settings: Settings) -> list[str]:
    """What the providers in use will not report back, and where to point their webhooks
    (see the README's *The feedback loop*): advice, not failures."""
    chains = {name for channel in ALL_CHANNELS for name in settings.provider_chain(channel)}
    base = settings.public_base_url
    notes: list[str] = []
    if "twilio" in chains:
        if base is None:
            notes.append(
                "Twilio reports no delivery, failure or read: set HERALD_PUBLIC_BASE_URL to "
                "where Twilio reaches this API"
            )
        else:
            notes.append(
                f"Twilio inbound messages (STOP, WhatsApp): {base}/v1/hooks/twilio/inbound"
            )
    if "meta" in chains:
        if settings.meta_app_secret is None or settings.meta_verify_token is None:
            notes.append(
                "Meta's statuses and inbound messages are refused: set HERALD_META_APP_SECRET "
                "and HERALD_META_VERIFY_TOKEN"
            )
        elif base is not None:
            notes.append(f"Meta webhook callback URL: {base}/v1/hooks/meta")
    if "ses" in chains:
        where = f"{base}/v1/hooks/ses" if base else "https://HOST/v1/hooks/ses"
        notes.append(f"SES bounces and complaints: subscribe {where} to the SNS topic SES uses")
    if base is not None and base.startswith("http://"):
        notes.append(
            f"HERALD_PUBLIC_BASE_URL {base} is not https: providers' webhooks travel in clear"
        )
    return notes


async def _check_api(url: str) -> list[str]:
    """The HTTP API answers and says it is ready (Temporal and its database reachable)."""
    import httpx

    ready = f"{url.rstrip('/')}/readyz"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(ready)
    except httpx.HTTPError as err:
        return [
            f"HTTP API at {url} unreachable ({type(err).__name__}); start it (herald api) or fix HERALD_API_URL"
        ]
    if response.status_code != 200:
        try:
            checks = response.json()["checks"]
            why = ", ".join(f"{part}: {state}" for part, state in checks.items() if state != "ok")
        except (ValueError, KeyError, TypeError, AttributeError):
            why = _error_of(response)
        return [f"HTTP API at {url} not ready ({response.status_code}): {why}"]
    print(f"ok: HTTP API at {url} ready")
    return []


async def check_encryption(settings: Settings) -> list[str]:
    """Keys, the codec server and the UI's wiring to it; prints what is fine."""
    from herald.codec import EncryptionCodec, EncryptionKeyError, parse_keys

    if settings.encryption_keys is None:
        if settings.require_encryption:
            return [NO_KEYS]
        print("note: payloads are not encrypted (HERALD_ENCRYPTION_KEYS unset)")
        return []
    try:
        keys = parse_keys(settings.encryption_keys.get_secret_value())
        codec = EncryptionCodec(keys)
    except EncryptionKeyError as err:
        return [f"HERALD_ENCRYPTION_KEYS: {err}"]
    required = ", required" if settings.require_encryption else ""
    print(f"ok: encryption keys {', '.join(keys)}; {codec.active_key_id} encrypts{required}")
    if settings.codec_endpoint is None:
        print(
            "note: HERALD_CODEC_ENDPOINT unset: the codec server and the UI's wiring to it "
            "are not checked"
        )
        return []
    problems = await _check_codec_server(settings, codec)
    if settings.temporal_ui_url is not None:
        problems += await _check_ui_wiring(settings)
    return problems


async def _check_codec_server(settings: Settings, codec: object) -> list[str]:
    import base64

    import httpx
    from temporalio.api.common.v1 import Payload

    from herald.codec import EncryptionCodec

    assert isinstance(codec, EncryptionCodec)
    endpoint = str(settings.codec_endpoint).rstrip("/")
    probe = Payload(metadata={"encoding": b"json/plain"}, data=b'"herald doctor"')
    sealed = codec.encrypt(probe)
    body = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                "data": base64.b64encode(sealed.data).decode(),
            }
        ]
    }
    headers = {"X-Namespace": settings.temporal_namespace}
    if settings.codec_token is not None:
        headers["Authorization"] = f"Bearer {settings.codec_token.get_secret_value()}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(f"{endpoint}/decode", json=body, headers=headers)
    except httpx.HTTPError as err:
        return [
            f"codec server at {endpoint} unreachable ({type(err).__name__}); start it "
            "with 'herald codec-server' or fix HERALD_CODEC_ENDPOINT"
        ]
    if response.status_code == 401:
        return [f"codec server at {endpoint} refused the token; check HERALD_CODEC_TOKEN"]
    if response.status_code != 200:
        return [
            f"codec server at {endpoint} answered {response.status_code}: {_error_of(response)}"
        ]
    try:
        out = response.json()["payloads"][0]
        decoded = base64.b64decode(out["data"])
    except (ValueError, KeyError, IndexError, TypeError):
        return [f"codec server at {endpoint} did not answer with payloads"]
    if decoded != probe.data:
        return [f"codec server at {endpoint} did not decrypt with this process's keys"]
    print(f"ok: codec server at {endpoint} decrypts with the current key")
    return []


async def _check_ui_wiring(settings: Settings) -> list[str]:
    import httpx

    ui = str(settings.temporal_ui_url).rstrip("/")
    endpoint = str(settings.codec_endpoint).rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = (await http.get(f"{ui}/api/v1/settings")).json()
            configured = ((answer.get("Codec") or {}).get("Endpoint") or "").rstrip("/")
            origin = httpx.URL(ui)
            origin_text = f"{origin.scheme}://{origin.netloc.decode()}"
            preflight = await http.options(
                f"{endpoint}/decode",
                headers={
                    "Origin": origin_text,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
    except (httpx.HTTPError, ValueError, AttributeError) as err:
        return [
            f"cannot read the Temporal UI settings at {ui} ({type(err).__name__}); "
            "check HERALD_TEMPORAL_UI_URL"
        ]
    problems = []
    if not configured:
        problems.append(
            f"the Temporal UI at {ui} has no codec endpoint: it shows ciphertext; set its "
            f"codec endpoint (TEMPORAL_CODEC_ENDPOINT, or --ui-codec-endpoint) to {endpoint}"
        )
    elif configured != endpoint:
        problems.append(
            f"the Temporal UI at {ui} calls the codec endpoint {configured}, "
            f"not HERALD_CODEC_ENDPOINT {endpoint}"
        )
    else:
        print(f"ok: the Temporal UI at {ui} uses the codec endpoint {endpoint}")
    if preflight.headers.get("access-control-allow-origin") != origin_text:
        problems.append(
            f"the codec server does not let the UI's origin {origin_text} call it: "
            "add it to HERALD_CODEC_CORS_ORIGINS"
        )
    else:
        print(f"ok: the codec server accepts calls from {origin_text}")
    return problems


def _error_of(response: object) -> str:
    try:
        return str(response.json()["error"])  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return str(response.text)[:200]  # type: ignore[attr-defined]
