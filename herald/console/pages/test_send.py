"""Test send: a short message to an address through a channel's configured providers
(``Herald.test_send``, the worker's failover), and the provider's answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.console.pages import ConsolePage
from herald.errors import InvalidInput, ProviderFailed
from herald.kinds import Channel

if TYPE_CHECKING:
    from herald.console.app import Console

CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)
ADDRESS_LIMIT = 320


def build_router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get("/test-send")
    async def form(request: Request, channel: str = "email") -> Response:
        session = console.signed_in(request)
        result = next((f for f in session.flash if f.get("key") == "test.result"), None)
        if result is not None:
            session.flash.remove(result)
            session.changed = True
        chains = {c.value: console.settings.provider_chain(c) for c in CHANNELS}
        chosen = result["params"].get("channel", channel) if result else channel
        return console.render(
            request,
            "console/test_send.html",
            channels=[c.value for c in CHANNELS],
            chains=chains,
            chosen=chosen if chosen in chains else "email",
            result=result["params"] if result else None,
        )

    @r.post("/test-send")
    async def send(
        request: Request,
        channel: Annotated[str, Form()] = "",
        address: Annotated[str, Form()] = "",
    ) -> Response:
        console.signed_in(request)
        outcome: dict[str, object] = {"channel": channel[:20], "address": address[:ADDRESS_LIMIT]}
        try:
            doc = await console.herald.test_send(channel, address[: ADDRESS_LIMIT + 1])
        except InvalidInput as err:
            outcome.update(ok="", refused=str(err))
        except ProviderFailed as err:
            outcome.update(ok="", failed=str(err))
        else:
            outcome.update(
                ok="1",
                address=doc["address"],
                provider=doc["provider"],
                message_id=doc["message_id"] or "",
            )
        # Shown once by the next GET (so a reload does not send again).
        console.flash(request, "result", "test.result", **outcome)
        return console.redirect(request, "/test-send")

    return r


PAGE = ConsolePage(slug="test_send", path="/test-send", order=30, build=build_router)
