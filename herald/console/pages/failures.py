"""Failures: the deliveries failed for good and the stuck ones
(``Herald.delivery_problems``), each failed one resendable (``Herald.resend_delivery``: a
new attempt on a row of its own, logged as the resend, never a silent duplicate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.console.pages import ConsolePage
from herald.errors import HeraldError

if TYPE_CHECKING:
    from herald.console.app import Console


def build_router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get("/failures")
    async def failures(request: Request) -> Response:
        console.signed_in(request)
        found = await console.herald.delivery_problems(limit=100)
        return console.render(request, "console/failures.html", found=found)

    @r.post("/failures/{delivery_id}/resend")
    async def resend(request: Request, delivery_id: int) -> Response:
        session = console.signed_in(request)
        try:
            row = await console.herald.resend_delivery(delivery_id, actor=console.actor(session))
        except HeraldError as err:
            console.flash(request, "error", "fail.resend_refused", id=delivery_id, reason=err)
        else:
            console.flash(request, "ok", "fail.resent", original=delivery_id, id=row["id"])
        return console.redirect(request, "/failures")

    return r


PAGE = ConsolePage(slug="failures", path="/failures", order=20, build=build_router)
