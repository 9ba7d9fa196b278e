"""What ``herald doctor`` checks, as data: the encryption keys, the codec server and the
UI's wiring to it, Temporal, the namespace's search attributes, the database, every
configured provider, the HTTP API, and notes on the providers' webhooks.

One implementation for every front door: ``herald doctor`` prints these checks, and the
service layer (``Herald.health()``, ``GET /v1/ops/health``) answers them as a
:class:`HealthReport`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.client import Client

from herald.channels import build_provider
from herald.kinds import ALL_CHANNELS
from herald.settings import Settings
from herald.store import Store, is_migrated
from herald.temporal import NO_KEYS, EncryptionRequired, connect, missing_search_attributes

# How long Temporal gets to answer the connection.
CONNECT_WAIT = 10.0

Status = Literal["ok", "problem", "note"]


class HealthCheck(BaseModel):
    name: str = Field(
        description="What was checked: encryption, codec-server, temporal-ui, temporal, "
        "search-attributes, database, provider, api, webhooks"
    )
    status: Status = Field(description="ok, problem (something to fix) or note (advice)")
    detail: str = Field(description="What was found, and for a problem how to fix it")


class HealthReport(BaseModel):
    ok: bool = Field(description="No check found a problem")
    checks: list[HealthCheck] = Field(description="In the order they ran")

    @property
    def problems(self) -> list[str]:
        return [c.detail for c in self.checks if c.status == "problem"]


class Findings:
    """The checks so far, in order."""

    def __init__(self) -> None:
        self.checks: list[HealthCheck] = []

    def ok(self, name: str, detail: str) -> None:
        self.checks.append(HealthCheck(name=name, status="ok", detail=detail))

    def problem(self, name: str, detail: str) -> None:
        self.checks.append(HealthCheck(name=name, status="problem", detail=detail))

    def note(self, name: str, detail: str) -> None:
        self.checks.append(HealthCheck(name=name, status="note", detail=detail))

    def report(self) -> HealthReport:
        return HealthReport(
            ok=not any(c.status == "problem" for c in self.checks), checks=list(self.checks)
        )


async def run_checks(
    settings: Settings,
    *,
    temporal: Callable[[], Awaitable[Client]] | None = None,
    store: Store | None = None,
) -> HealthReport:
    """Every check of ``herald doctor``. ``temporal`` opens (or lends) the Temporal client,
    a fresh connection by default; ``store`` is the database, opened from the settings by
    default (and then closed)."""
    found = Findings()
    await check_encryption(settings, found)
    try:
        client = await asyncio.wait_for((temporal or (lambda: connect(settings)))(), CONNECT_WAIT)
    except EncryptionRequired:
        pass  # reported by check_encryption
    except Exception as err:  # noqa: BLE001 - reported, not raised
        found.problem(
            "temporal",
            f"Temporal at {settings.temporal_address} unreachable ({err}); set TEMPORAL_ADDRESS "
            "or start one (herald dev)",
        )
    else:
        found.ok(
            "temporal",
            f"Temporal at {settings.temporal_address}, namespace {settings.temporal_namespace}",
        )
        try:
            missing = await missing_search_attributes(client)
        except Exception as err:  # noqa: BLE001
            found.problem("search-attributes", f"cannot list search attributes: {err}")
        else:
            if missing:
                found.problem(
                    "search-attributes",
                    f"search attributes missing: {', '.join(missing)}; run 'herald setup'",
                )
            else:
                found.ok("search-attributes", "search attributes registered")
    await check_database(settings, found, store)
    check_providers(settings, found)
    if settings.api_url:
        await check_api(settings.api_url, found)
    for note in feedback_notes(settings):
        found.note("webhooks", note)
    return found.report()


async def check_database(settings: Settings, found: Findings, store: Store | None = None) -> None:
    own = store is None
    db = store or Store.from_url(settings.resolved_database_url)
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        if await asyncio.to_thread(is_migrated, db.engine):
            found.ok("database", f"database {url} migrated")
        else:
            found.problem("database", f"database {url} not migrated; run 'herald migrate'")
    except Exception as err:  # noqa: BLE001
        found.problem(
            "database",
            f"database {url} unreachable ({type(err).__name__}); check HERALD_DATABASE_URL",
        )
    finally:
        if own:
            db.close()


def check_providers(settings: Settings, found: Findings) -> None:
    for channel in ALL_CHANNELS:
        for name in settings.provider_chain(channel):
            try:
                build_provider(name, channel, settings)
            except Exception as err:  # noqa: BLE001 - reported, not raised
                found.problem("provider", f"{channel.value} provider {name}: {err}")
            else:
                found.ok("provider", f"{channel.value} provider {name} configured")


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


async def check_api(url: str, found: Findings) -> None:
    """The HTTP API answers and says it is ready (Temporal and its database reachable)."""
    import httpx

    ready = f"{url.rstrip('/')}/readyz"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(ready)
    except httpx.HTTPError as err:
        found.problem(
            "api",
            f"HTTP API at {url} unreachable ({type(err).__name__}); start it (herald api) or "
            "fix HERALD_API_URL",
        )
        return
    if response.status_code != 200:
        try:
            checks = response.json()["checks"]
            why = ", ".join(f"{part}: {state}" for part, state in checks.items() if state != "ok")
        except (ValueError, KeyError, TypeError, AttributeError):
            why = _error_of(response)
        found.problem("api", f"HTTP API at {url} not ready ({response.status_code}): {why}")
        return
    found.ok("api", f"HTTP API at {url} ready")


async def check_encryption(settings: Settings, found: Findings) -> None:
    """Keys, the codec server and the UI's wiring to it."""
    from herald.codec import EncryptionCodec, EncryptionKeyError, parse_keys

    if settings.encryption_keys is None:
        if settings.require_encryption:
            found.problem("encryption", NO_KEYS)
        else:
            found.note("encryption", "payloads are not encrypted (HERALD_ENCRYPTION_KEYS unset)")
        return
    try:
        keys = parse_keys(settings.encryption_keys.get_secret_value())
        codec = EncryptionCodec(keys)
    except EncryptionKeyError as err:
        found.problem("encryption", f"HERALD_ENCRYPTION_KEYS: {err}")
        return
    required = ", required" if settings.require_encryption else ""
    found.ok(
        "encryption", f"encryption keys {', '.join(keys)}; {codec.active_key_id} encrypts{required}"
    )
    if settings.codec_endpoint is None:
        found.note(
            "codec-server",
            "HERALD_CODEC_ENDPOINT unset: the codec server and the UI's wiring to it are not "
            "checked",
        )
        return
    await _check_codec_server(settings, codec, found)
    if settings.temporal_ui_url is not None:
        await _check_ui_wiring(settings, found)


async def _check_codec_server(settings: Settings, codec: object, found: Findings) -> None:
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
    name = "codec-server"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(f"{endpoint}/decode", json=body, headers=headers)
    except httpx.HTTPError as err:
        found.problem(
            name,
            f"codec server at {endpoint} unreachable ({type(err).__name__}); start it "
            "with 'herald codec-server' or fix HERALD_CODEC_ENDPOINT",
        )
        return
    if response.status_code == 401:
        found.problem(
            name, f"codec server at {endpoint} refused the token; check HERALD_CODEC_TOKEN"
        )
        return
    if response.status_code != 200:
        found.problem(
            name,
            f"codec server at {endpoint} answered {response.status_code}: {_error_of(response)}",
        )
        return
    try:
        out = response.json()["payloads"][0]
        decoded = base64.b64decode(out["data"])
    except (ValueError, KeyError, IndexError, TypeError):
        found.problem(name, f"codec server at {endpoint} did not answer with payloads")
        return
    if decoded != probe.data:
        found.problem(name, f"codec server at {endpoint} did not decrypt with this process's keys")
        return
    found.ok(name, f"codec server at {endpoint} decrypts with the current key")


async def _check_ui_wiring(settings: Settings, found: Findings) -> None:
    import httpx

    ui = str(settings.temporal_ui_url).rstrip("/")
    endpoint = str(settings.codec_endpoint).rstrip("/")
    name = "temporal-ui"
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
        found.problem(
            name,
            f"cannot read the Temporal UI settings at {ui} ({type(err).__name__}); "
            "check HERALD_TEMPORAL_UI_URL",
        )
        return
    if not configured:
        found.problem(
            name,
            f"the Temporal UI at {ui} has no codec endpoint: it shows ciphertext; set its "
            f"codec endpoint (TEMPORAL_CODEC_ENDPOINT, or --ui-codec-endpoint) to {endpoint}",
        )
    elif configured != endpoint:
        found.problem(
            name,
            f"the Temporal UI at {ui} calls the codec endpoint {configured}, "
            f"not HERALD_CODEC_ENDPOINT {endpoint}",
        )
    else:
        found.ok(name, f"the Temporal UI at {ui} uses the codec endpoint {endpoint}")
    if preflight.headers.get("access-control-allow-origin") != origin_text:
        found.problem(
            name,
            f"the codec server does not let the UI's origin {origin_text} call it: "
            "add it to HERALD_CODEC_CORS_ORIGINS",
        )
    else:
        found.ok(name, f"the codec server accepts calls from {origin_text}")


def _error_of(response: object) -> str:
    try:
        return str(response.json()["error"])  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return str(response.text)[:200]  # type: ignore[attr-defined]
