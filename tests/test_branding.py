"""Branding beyond a colour: secondary colour, postal address and social links in every
e-mail's footer, and a logo Herald serves itself when a file is configured."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from herald.api.app import create_app
from herald.branding import brand_context, logo_url
from herald.rendering import Renderer
from herald.settings import Settings
from tests.api.conftest import bare_herald, serving
from tests.test_rendering import make_context

# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def branded(**overrides: object) -> Settings:
    return Settings(
        brand_name="RS Systems",
        brand_color="#0f766e",
        brand_secondary_color="#ecfeff",
        brand_address="12 rue des Lilas, 75011 Paris",
        brand_social_links="LinkedIn=https://www.linkedin.com/company/rs,Facebook=https://facebook.com/rs",
        **overrides,  # type: ignore[arg-type]
    )


def render(settings: Settings, locale: str = "fr") -> tuple[str, str]:
    context = {**make_context("loan.created", locale), "brand": brand_context(settings)}
    out = Renderer().render("loan.created", locale, context, email=True)
    return out.html, out.text


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_footer_carries_the_address_the_links_and_the_secondary_colour(locale: str) -> None:
    html, text = render(branded(), locale)
    assert "background-color:#ecfeff" in html
    assert "12 rue des Lilas, 75011 Paris" in html and "12 rue des Lilas, 75011 Paris" in text
    assert '<a href="https://www.linkedin.com/company/rs"' in html and ">LinkedIn</a>" in html
    assert "Facebook: https://facebook.com/rs" in text
    plain_html, plain_text = render(Settings(brand_name="Herald"), locale)
    assert "rue des Lilas" not in plain_html and "LinkedIn" not in plain_text


def test_a_logo_file_is_served_and_used_when_no_logo_url_is_set(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    served = branded(brand_logo_file=logo, public_base_url="https://herald.example.org")
    assert logo_url(served) == "https://herald.example.org/v1/brand/logo"
    html, _ = render(served)
    assert 'src="https://herald.example.org/v1/brand/logo"' in html
    explicit = branded(brand_logo_file=logo, brand_logo_url="https://cdn.example.org/l.png")
    assert logo_url(explicit) == "https://cdn.example.org/l.png"
    assert logo_url(branded(brand_logo_file=logo)) is None  # no public address to give


async def test_the_api_serves_the_logo_without_a_key(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    herald = bare_herald(tmp_path, brand_logo_file=logo)
    async with (
        serving(create_app(herald, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        answer = await http.get("/v1/brand/logo")
        assert answer.status_code == 200 and answer.content == PNG
        assert answer.headers["content-type"] == "image/png"
    herald.close()
    bad = tmp_path / "logo.exe"
    bad.write_bytes(b"MZ")
    other = bare_herald(tmp_path / "b", brand_logo_file=bad)
    async with (
        serving(create_app(other, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        refused = await http.get("/v1/brand/logo")
        assert refused.status_code == 404 and "PNG, JPEG" in refused.json()["detail"]
    other.close()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("brand_secondary_color", "teal", "#rgb or #rrggbb"),
        ("brand_color", "#12345", "#rgb or #rrggbb"),
        ("brand_social_links", "LinkedIn", "Name=https://"),
        ("brand_social_links", "X=javascript:alert(1)", "Name=https://"),
    ],
)
def test_bad_branding_settings_are_refused_saying_why(field: str, value: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(**{field: value})  # type: ignore[arg-type]
