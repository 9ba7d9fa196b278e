"""``GET /v1/brand/logo``: the logo file Herald serves for its e-mails
(``HERALD_BRAND_LOGO_FILE``). Public: mail clients fetch it without a key."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from herald.api.problems import ProblemError
from herald.branding import LOGO_PATH, read_logo
from herald.settings import Settings


def build_brand_router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["brand"])

    @r.get(LOGO_PATH, response_class=Response, summary="The logo in Herald's e-mails")
    async def logo() -> Response:
        path = settings.brand_logo_file
        if path is None:
            raise ProblemError(404, "not-found", "no logo configured (HERALD_BRAND_LOGO_FILE)")
        try:
            body, media = await asyncio.to_thread(read_logo, path)
        except OSError as err:
            raise ProblemError(
                404, "not-found", f"the logo cannot be read: {err.strerror}"
            ) from None
        except ValueError as err:
            raise ProblemError(404, "not-found", str(err)) from None
        return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=86400"})

    return r
