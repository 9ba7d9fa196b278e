"""The organisation's look in every message: name, colours, logo, footer, postal address
and social links, from the settings (``HERALD_BRAND_*``)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from herald.settings import Settings

LOGO_PATH = "/v1/brand/logo"
# Logos Herald serves: small images only.
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"})
LOGO_LIMIT = 512 * 1024


def logo_url(settings: Settings) -> str | None:
    """The configured logo URL, else the one Herald serves for ``HERALD_BRAND_LOGO_FILE``
    (under ``HERALD_PUBLIC_BASE_URL``, the address mail clients can reach)."""
    if settings.brand_logo_url:
        return settings.brand_logo_url
    if settings.brand_logo_file is not None and settings.public_base_url:
        return settings.public_base_url + LOGO_PATH
    return None


def brand_context(settings: Settings) -> dict[str, Any]:
    """``brand`` in every template's context."""
    return {
        "name": settings.brand_name,
        "logo_url": logo_url(settings),
        "color": settings.brand_color,
        "secondary_color": settings.brand_secondary_color,
        "footer": settings.brand_footer,
        "address": settings.brand_address,
        "social": [{"name": n, "url": u} for n, u in settings.brand_social_links.items()],
    }


def read_logo(path: Path) -> tuple[bytes, str]:
    """The logo's bytes and media type; ``ValueError`` saying why it cannot be served."""
    media = mimetypes.guess_type(path.name)[0]
    if media not in LOGO_TYPES:
        raise ValueError(f"{path.name}: a logo is PNG, JPEG, GIF, SVG or WebP")
    size = path.stat().st_size
    if size > LOGO_LIMIT:
        raise ValueError(f"{path.name} is {size} bytes; a logo is at most {LOGO_LIMIT}")
    return path.read_bytes(), media
