"""The pages and components Herald serves to browsers, under ``/ui/``: plain ES modules (no
framework, no bundler, nothing from a CDN), shipped with the package.

- ``/ui/herald-inbox.js``: the ``<herald-inbox>`` element, the bell and its list;
- ``/ui/herald-preferences.js``: the ``<herald-preferences>`` element, the person's
  preferences form;
- ``/ui/preferences``: a standalone page around that form (the token in the URL's fragment,
  ``#token=…``, which never reaches a server or a log);
- ``/ui/herald-theme.css``: the brand's colours (``HERALD_BRAND_COLOR``…) for that page.

The elements talk to ``/v1/me/...`` with a subscriber token; see :mod:`herald.api.me_routes`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Request, Response

from herald.api.problems import ProblemError
from herald.branding import LOGO_PATH
from herald.settings import Settings

STATIC = {
    "herald-core.js": "text/javascript; charset=utf-8",
    "herald-inbox.js": "text/javascript; charset=utf-8",
    "herald-preferences.js": "text/javascript; charset=utf-8",
    "herald-page.css": "text/css; charset=utf-8",
}
# Browsers revalidate each asset (a cheap 304 while unchanged), so an upgrade shows at once.
ASSET_CACHE = "no-cache"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@cache
def static_asset(name: str) -> Asset:
    body = (resources.files("herald.web") / "static" / name).read_bytes()
    return _asset(body, STATIC[name])


@cache
def _pages() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("herald.web", "templates"), autoescape=True
    )


def theme_css(settings: Settings) -> str:
    """The brand's colours as the pages' custom properties (validated #rgb/#rrggbb)."""
    return (
        ":root {\n"
        f"  --herald-accent: {settings.brand_color};\n"
        f"  --herald-band: {settings.brand_secondary_color};\n"
        "}\n"
    )


def _logo(settings: Settings) -> str | None:
    if settings.brand_logo_url:
        return settings.brand_logo_url
    return LOGO_PATH if settings.brand_logo_file is not None else None


def page_policy(settings: Settings) -> str:
    """The standalone pages' Content-Security-Policy: scripts, styles and calls from Herald
    only, no inline script; framed only by Herald and the configured origins."""
    images = ["'self'"]
    logo = settings.brand_logo_url
    if logo:
        parts = urlsplit(logo)
        images.append(f"{parts.scheme}://{parts.netloc}")
    ancestors = " ".join(["'self'", *settings.cors_origins])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src {' '.join(images)}; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


def _answer(request: Request, asset: Asset) -> Response:
    headers = {**COMMON_HEADERS, "Cache-Control": ASSET_CACHE, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def build_ui_router(settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/ui", tags=["browser pages"], include_in_schema=False)
    theme = _asset(theme_css(settings).encode(), "text/css; charset=utf-8")

    @r.get("/preferences")
    async def preferences_page() -> Response:
        html = (
            _pages()
            .get_template("preferences.html")
            .render(
                brand_name=settings.brand_name,
                logo=_logo(settings),
                locale=settings.default_locale,
            )
        )
        return Response(
            html,
            media_type="text/html; charset=utf-8",
            headers={
                **COMMON_HEADERS,
                "Cache-Control": "no-store",
                "Content-Security-Policy": page_policy(settings),
            },
        )

    @r.get("/herald-theme.css")
    async def theme_sheet(request: Request) -> Response:
        return _answer(request, theme)

    @r.get("/{name}")
    async def static(name: str, request: Request) -> Response:
        if name not in STATIC:
            raise ProblemError(404, "not-found", "no such route")
        return _answer(request, static_asset(name))

    return r
