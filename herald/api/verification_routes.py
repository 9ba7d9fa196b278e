"""Contact verification's routes: start one for a person's address, confirm a code, send a
new one, and the public link an e-mail carries."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from herald.api import models as m
from herald.errors import HeraldError
from herald.verification import CONFIRM_PATH

if TYPE_CHECKING:
    from starter.client import Herald


class StartVerificationBody(m.Body):
    model_config = m._examples({"channel": "sms"})

    channel: str = Field(description="email, sms or whatsapp: whose address to verify")


class ConfirmBody(m.Body):
    model_config = m._examples({"code": "493027"})

    code: str = Field(description="The code that was sent (or the e-mail's token)")


class ResendBody(m.Body):
    model_config = m._examples({})


class VerificationOut(BaseModel):
    id: str
    subscriber_id: str
    channel: str
    address: str
    status: str = Field(description="pending, verified, expired or failed")
    attempts: int
    sends: int
    created_at: str
    expires_at: str
    finished_at: str | None


_PAGE = {
    "verified": ("Adresse vérifiée — Address verified", "Merci ! Thank you!"),
    "pending": ("Code incorrect — Wrong code", "Réessayez depuis le dernier message reçu."),
    "failed": ("Vérification échouée — Verification failed", "Demandez un nouveau lien."),
    "expired": ("Lien expiré — Link expired", "Demandez un nouveau lien."),
}


def build_verification_router(
    herald: Herald, *, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems, tags=["verification"])

    @r.post(
        "/subscribers/{subscriber_id}/verifications",
        status_code=201,
        response_model=VerificationOut,
    )
    async def start(subscriber_id: str, body: StartVerificationBody) -> VerificationOut:
        """Send a code (SMS, WhatsApp) or a link (e-mail) to the person's address."""
        return VerificationOut(
            **await herald.start_verification(subscriber_id, channel=body.channel)
        )

    @r.get(CONFIRM_PATH.removeprefix("/v1"), response_model=VerificationOut)
    async def confirm_link(
        request: Request, token: Annotated[str, Query(description="The link's token")]
    ) -> Response:
        """The link in the verification e-mail (public): a page, or JSON when asked."""
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            doc = await herald.confirm_verification_link(token)
        except HeraldError as err:
            if wants_json:
                raise
            return HTMLResponse(_page("Lien invalide — Invalid link", str(err)), status_code=400)
        if wants_json:
            return JSONResponse(doc)
        title, text = _PAGE.get(str(doc["status"]), _PAGE["failed"])
        return HTMLResponse(_page(title, text))

    @r.get("/verifications/{verification_id}", response_model=VerificationOut)
    async def show(verification_id: str) -> VerificationOut:
        return VerificationOut(**await herald.verification(verification_id))

    @r.post("/verifications/{verification_id}/confirm", response_model=VerificationOut)
    async def confirm(verification_id: str, body: ConfirmBody) -> VerificationOut:
        """One try of the code; the verification as it now stands."""
        return VerificationOut(**await herald.confirm_verification(verification_id, code=body.code))

    @r.post("/verifications/{verification_id}/resend", response_model=VerificationOut)
    async def resend(verification_id: str, body: ResendBody) -> VerificationOut:
        """A new code, once the cool-down since the last one has passed (409 before)."""
        return VerificationOut(**await herald.resend_verification(verification_id))

    return r


def _page(title: str, text: str) -> str:
    return (
        '<!DOCTYPE html><html lang="fr"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:Arial,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">'
        f'<h1 style="font-size:1.4rem">{html.escape(title)}</h1><p>{html.escape(text)}</p>'
        "</body></html>"
    )
