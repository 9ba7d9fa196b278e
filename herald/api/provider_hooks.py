"""The URLs providers call: SES through SNS, Twilio's status callbacks and inbound
messages, Meta's WhatsApp Cloud API webhook.

No API key here: each request proves where it comes from by its signature (SNS's
certificate, ``X-Twilio-Signature``, ``X-Hub-Signature-256``). A bad, missing, stale or
replayed signature is a 403 and changes nothing; a provider that is not configured is a
404 saying which setting is missing. What a verified event changes is
:mod:`herald.receipts`' business; this module only translates.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from herald import receipts
from herald.api.problems import ProblemError
from herald.contracts import WINDOW_REMINDER_WORKFLOW, WindowInput, window_workflow_id
from herald.db import utcnow
from herald.kinds import Channel
from herald.settings import Settings
from herald.webhooks import InboundMessage, ProviderEvent, SignatureError
from herald.webhooks import meta as meta_hooks
from herald.webhooks import ses as ses_hooks
from herald.webhooks import sns as sns_hooks
from herald.webhooks import twilio as twilio_hooks

if TYPE_CHECKING:
    from starter.client import Herald

log = logging.getLogger("herald.hooks")
HOOKS_PREFIX = "/v1/hooks/"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# What the application is told about each state a row moves to.
STATE_EVENTS = {state: f"delivery.{state.value}" for state in receipts.STATE_TIME}
# Confirming an SNS subscription: one GET of the SubscribeURL.
CONFIRM_TIMEOUT = 10.0

Announce = Callable[[str, dict[str, Any], str], Awaitable[None]]


def _forbidden(err: SignatureError) -> ProblemError:
    return ProblemError(403, "invalid-signature", str(err)[:300])


def _malformed(err: ValueError) -> ProblemError:
    return ProblemError(400, "malformed-body", str(err)[:300])


def _not_configured(provider: str, setting: str) -> ProblemError:
    return ProblemError(
        404, "not-configured", f"{provider} webhooks are not configured here: set {setting}"
    )


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError(400, "malformed-body", "the form is not UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise ProblemError(400, "malformed-body", "the body is not a URL-encoded form") from None
    return dict(pairs)


def signed_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called (and signed): under HERALD_PUBLIC_BASE_URL when it is set, as
    a proxy in front of Herald changes the scheme and host this server sees."""
    if settings.public_base_url:
        query = request.url.query
        return settings.public_base_url + request.url.path + (f"?{query}" if query else "")
    return str(request.url)


def build_provider_hooks(
    herald: Herald, settings: Settings, *, announce: Announce | None = None
) -> APIRouter:
    """The provider-facing routes. ``announce(type, data, key)`` tells the application
    (outbound webhooks) about each row that moved and each address suppressed."""
    r = APIRouter(prefix="/v1/hooks", tags=["provider webhooks"])
    store = herald.store
    verifier = sns_hooks.SnsVerifier(
        certificate_url_pattern=settings.sns_certificate_url_pattern,
        max_age=settings.sns_max_age,
        topic_arns=settings.sns_topic_arns,
    )

    async def record(events: list[ProviderEvent]) -> dict[str, int]:
        outcome = await asyncio.to_thread(receipts.apply_events, store, events)
        if announce is not None:
            for change in outcome.changes:
                d = change.delivery
                await announce(
                    STATE_EVENTS[change.state], d, f"{STATE_EVENTS[change.state]}:{d['id']}"
                )
            for row in outcome.suppressed:
                await announce("subscriber.suppressed", row, f"subscriber.suppressed:{row['id']}")
        return {
            "recorded": outcome.recorded,
            "duplicates": outcome.duplicates,
            "unmatched": outcome.unmatched,
            "changed": len(outcome.changes),
            "suppressed": len(outcome.suppressed),
        }

    async def inbound(message: InboundMessage, opt: str | None) -> None:
        if message.channel == Channel.WHATSAPP.value:
            await asyncio.to_thread(receipts.record_inbound, store, message)
            if settings.whatsapp_window_reminder is not None:
                await watch_window(message)
            return
        if opt == "stop":
            row, created = await asyncio.to_thread(
                receipts.suppress,
                store,
                Channel.SMS,
                message.address,
                reason=f"replied {message.text.strip().upper()[:20]}",
                source=f"{message.provider}:{message.text.strip().upper()[:20]}:{message.message_id}",
                by=message.provider,
            )
            if created and announce is not None:
                await announce("subscriber.suppressed", row, f"subscriber.suppressed:{row['id']}")
        elif opt == "start":
            await asyncio.to_thread(
                receipts.lift,
                store,
                Channel.SMS,
                message.address,
                by=message.provider,
                reason=f"replied {message.text.strip().upper()[:20]}",
            )

    async def watch_window(message: InboundMessage) -> None:
        """Start (or move) the person's window timer; the window itself is already kept,
        so Temporal being away loses only this reminder."""
        lead = settings.whatsapp_window_reminder
        assert lead is not None
        try:
            client = await herald.temporal()
            await client.start_workflow(
                WINDOW_REMINDER_WORKFLOW,
                WindowInput(
                    address=message.address,
                    last_inbound_at=message.received_at,
                    window=settings.whatsapp_window,
                    lead=lead,
                    group=settings.whatsapp_window_reminder_group,
                ),
                id=window_workflow_id(message.address),
                task_queue=settings.task_queue,
                start_signal="inbound",
                start_signal_args=[message.received_at],
            )
        except Exception as err:  # noqa: BLE001 - the window is recorded; only the reminder is lost
            log.warning("WhatsApp window reminder for a number not started: %s", err)

    # ------------------------------------------------------------ SES through SNS

    @r.post("/ses", summary="SES events through an SNS HTTP(S) subscription")
    async def ses(request: Request) -> Response:
        """Point an SNS topic's HTTPS subscription here (the topic SES publishes bounces,
        complaints and deliveries to); the subscription is confirmed on its first call."""
        body = await request.body()
        try:
            message = sns_hooks.parse_envelope(body)
        except SignatureError as err:
            raise _forbidden(err) from None
        except ValueError as err:
            raise _malformed(err) from None
        try:
            await asyncio.to_thread(verifier.verify, message)
        except SignatureError as err:
            log.warning("SNS message refused: %s", err)
            raise _forbidden(err) from None
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            try:
                url = verifier.confirmation_url(message)
            except SignatureError as err:
                raise _forbidden(err) from None
            async with httpx.AsyncClient(timeout=CONFIRM_TIMEOUT, follow_redirects=False) as http:
                try:
                    answer = await http.get(url)
                except httpx.HTTPError as err:
                    raise ProblemError(
                        503, "unavailable", f"could not confirm the subscription: {err}"[:300]
                    ) from None
            if answer.status_code != 200:
                raise ProblemError(
                    503,
                    "unavailable",
                    f"SNS answered {answer.status_code} to the subscription confirmation",
                )
            log.info("SNS subscription confirmed for %s", message.get("TopicArn"))
            return JSONResponse({"confirmed": message.get("TopicArn")})
        if kind == "UnsubscribeConfirmation":
            log.warning("SNS unsubscribed this endpoint from %s", message.get("TopicArn"))
            return JSONResponse({"unsubscribed": message.get("TopicArn")})
        try:
            events = ses_hooks.parse_ses(message["Message"], event_id=message["MessageId"])
        except ValueError as err:
            raise _malformed(err) from None
        return JSONResponse(await record(events))

    # ------------------------------------------------------------ Twilio

    def _twilio_token() -> str:
        if settings.twilio_auth_token is None:
            raise _not_configured("Twilio", "HERALD_TWILIO_AUTH_TOKEN")
        return settings.twilio_auth_token.get_secret_value()

    async def _twilio_params(request: Request) -> dict[str, str]:
        token = _twilio_token()
        params = _form(await request.body())
        try:
            twilio_hooks.verify_twilio(
                signed_url(settings, request),
                params,
                request.headers.get("x-twilio-signature"),
                token,
            )
        except SignatureError as err:
            log.warning("Twilio request refused: %s", err)
            raise _forbidden(err) from None
        return params

    @r.post("/twilio/status", summary="Twilio StatusCallback (SMS and WhatsApp)")
    async def twilio_status(request: Request) -> Response:
        """Herald asks Twilio to post here on every send when HERALD_PUBLIC_BASE_URL is set."""
        params = await _twilio_params(request)
        try:
            event = twilio_hooks.parse_status(params, now=utcnow())
        except ValueError as err:
            raise _malformed(err) from None
        return JSONResponse(await record([event] if event is not None else []))

    @r.post("/twilio/inbound", summary="Twilio inbound messages (SMS and WhatsApp)")
    async def twilio_inbound(request: Request) -> Response:
        """Set as the number's "A message comes in" webhook: STOP and START keep the SMS
        suppression list, a WhatsApp message opens the person's 24-hour window."""
        params = await _twilio_params(request)
        try:
            message = twilio_hooks.parse_inbound(params, now=utcnow())
        except ValueError as err:
            raise _malformed(err) from None
        opt = twilio_hooks.opt_out_keyword(message.text, params.get("OptOutType"))
        await inbound(message, opt)
        return Response(EMPTY_TWIML, media_type="text/xml")

    # ------------------------------------------------------------ Meta WhatsApp Cloud API

    @r.get("/meta", summary="Meta's webhook verification (hub.challenge)")
    async def meta_verify(request: Request) -> Response:
        if settings.meta_verify_token is None:
            raise _not_configured("Meta", "HERALD_META_VERIFY_TOKEN")
        try:
            answer = meta_hooks.challenge(
                dict(request.query_params), settings.meta_verify_token.get_secret_value()
            )
        except SignatureError as err:
            raise _forbidden(err) from None
        return PlainTextResponse(answer)

    @r.post("/meta", summary="Meta WhatsApp Cloud API: statuses and inbound messages")
    async def meta_events(request: Request) -> Response:
        if settings.meta_app_secret is None:
            raise _not_configured("Meta", "HERALD_META_APP_SECRET")
        body = await request.body()
        try:
            meta_hooks.verify_meta_signature(
                body,
                request.headers.get("x-hub-signature-256"),
                settings.meta_app_secret.get_secret_value(),
            )
        except SignatureError as err:
            log.warning("Meta request refused: %s", err)
            raise _forbidden(err) from None
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the body is not a JSON object")
            events, messages = meta_hooks.parse_meta(payload)
        except ValueError as err:
            raise _malformed(err) from None
        for message in messages:
            await inbound(message, None)
        counts = await record(events)
        return JSONResponse({**counts, "inbound": len(messages)})

    return r
