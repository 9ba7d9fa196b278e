"""Templates: every built-in kind previewed with sample data in both languages and every
format (``Herald.preview_kind``), and the admin templates of staff alerts, previewed with
the data given (``Herald.preview_template``) and edited with the syntax check
(``Herald.set_template``)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from herald.console.pages import ConsolePage
from herald.errors import HeraldError, InvalidInput
from herald.kinds import KINDS, Kind
from herald.service.delivery_log import FORMATS, LOCALES
from herald.template_samples import BUILT_IN_KINDS

if TYPE_CHECKING:
    from herald.console.app import Console

CONTEXT_LIMIT = 32 * 1024
# The e-mail as sent, in its own sandboxed document: no script, no form, nothing fetched
# but images.
FRAME_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data: 'self'; "
    "frame-ancestors 'self'"
)


def _locale(value: str) -> str:
    return value if value in LOCALES else LOCALES[0]


def build_router(console: Console) -> APIRouter:
    r = APIRouter()
    herald = console.herald

    async def admin_templates() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = defaultdict(dict)
        for row in await herald.templates():
            found[row.name][row.locale] = row
        return dict(sorted(found.items()))

    @r.get("/templates")
    async def index(request: Request) -> Response:
        console.signed_in(request)
        return console.render(
            request,
            "console/templates.html",
            groups=_kind_groups(),
            admin=await admin_templates(),
            locales=LOCALES,
            form={"name": "", "locale": LOCALES[0], "subject": "", "body": "", "short": ""},
            error=None,
        )

    @r.get("/templates/kinds/{kind}")
    async def kind_preview(
        request: Request, kind: str, locale: str = "fr", format: str = "html"
    ) -> Response:
        console.signed_in(request)
        if kind not in BUILT_IN_KINDS:
            return console.error_page(request, 404, "error.not_found_title", "error.not_found")
        locale, format = _locale(locale), format if format in FORMATS else "html"
        try:
            doc = await herald.preview_kind(kind, locale=locale, format=format)
            error = None
        except HeraldError as err:
            doc, error = None, str(err)
        return console.render(
            request,
            "console/kind_preview.html",
            kind=KINDS[kind],
            locale=locale,
            format=format,
            locales=LOCALES,
            formats=FORMATS,
            doc=doc,
            error=error,
        )

    @r.get("/templates/kinds/{kind}/frame")
    async def kind_frame(request: Request, kind: str, locale: str = "fr") -> Response:
        """The HTML e-mail alone, for the preview's frame."""
        console.signed_in(request)
        if kind not in BUILT_IN_KINDS:
            return console.error_page(request, 404, "error.not_found_title", "error.not_found")
        doc = await herald.preview_kind(kind, locale=_locale(locale), format="html")
        return HTMLResponse(doc["body"], headers={"content-security-policy": FRAME_CSP})

    async def admin_page(
        request: Request,
        name: str,
        locale: str,
        *,
        context_text: str = "{}",
        form: dict[str, str] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        templates = await admin_templates()
        versions = templates.get(name)
        if not versions:
            return console.error_page(request, 404, "error.not_found_title", "error.not_found")
        row = versions.get(locale)
        preview, preview_error = None, None
        try:
            context = _context(context_text)
            preview = await herald.preview_template(name, locale=locale, context=context)
        except HeraldError as err:
            preview_error = str(err)
        if form is None:
            form = {
                "subject": row.subject if row else "",
                "body": row.body if row else "",
                "short": (row.short or "") if row else "",
            }
        return console.render(
            request,
            "console/admin_template.html",
            status_code=status,
            name=name,
            locale=locale,
            locales=LOCALES,
            exists=row is not None,
            preview=preview,
            preview_error=preview_error,
            context_text=context_text,
            form=form,
            error=error,
        )

    @r.get("/templates/admin/{name}")
    async def admin_preview(
        request: Request, name: str, locale: str = "fr", context: str = "{}"
    ) -> Response:
        console.signed_in(request)
        return await admin_page(request, name, _locale(locale), context_text=context)

    @r.post("/templates/admin/{name}")
    async def admin_save(
        request: Request,
        name: str,
        locale: Annotated[str, Form()] = "",
        subject: Annotated[str, Form()] = "",
        body: Annotated[str, Form()] = "",
        short: Annotated[str, Form()] = "",
    ) -> Response:
        console.signed_in(request)
        form = {"subject": subject, "body": body, "short": short}
        try:
            await herald.set_template(
                name, locale=locale, subject=subject, body=body, short=short or None
            )
        except HeraldError as err:
            return await admin_page(
                request, name, _locale(locale), form=form, error=str(err), status=422
            )
        console.flash(request, "ok", "tpl.saved", name=name, locale=locale)
        return console.redirect(request, f"/templates/admin/{name}?locale={locale}")

    @r.post("/templates/admin")
    async def admin_create(
        request: Request,
        name: Annotated[str, Form()] = "",
        locale: Annotated[str, Form()] = "",
        subject: Annotated[str, Form()] = "",
        body: Annotated[str, Form()] = "",
        short: Annotated[str, Form()] = "",
    ) -> Response:
        console.signed_in(request)
        try:
            await herald.set_template(
                name, locale=locale, subject=subject, body=body, short=short or None
            )
        except HeraldError as err:
            return console.render(
                request,
                "console/templates.html",
                status_code=422,
                groups=_kind_groups(),
                admin=await admin_templates(),
                locales=LOCALES,
                form={
                    "name": name,
                    "locale": locale,
                    "subject": subject,
                    "body": body,
                    "short": short,
                },
                error=str(err),
            )
        console.flash(request, "ok", "tpl.created", name=name, locale=locale)
        return console.redirect(request, f"/templates/admin/{name}?locale={locale}")

    return r


def _kind_groups() -> dict[str, list[Kind]]:
    """The built-in kinds by subject type (loan, repair…), in the catalogue's order."""
    groups: dict[str, list[Kind]] = defaultdict(list)
    for name in BUILT_IN_KINDS:
        groups[name.split(".", 1)[0]].append(KINDS[name])
    return dict(groups)


def _context(text: str) -> dict[str, Any]:
    """The sample data typed in the form: a JSON object (checked again by the service)."""
    if len(text) > CONTEXT_LIMIT:
        raise InvalidInput(f"the sample data is over {CONTEXT_LIMIT // 1024} KiB")
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as err:
        raise InvalidInput(f"the sample data is not JSON: {err.msg} (line {err.lineno})") from None
    if not isinstance(value, dict):
        raise InvalidInput("the sample data must be a JSON object: {...}")
    return value


PAGE = ConsolePage(slug="templates", path="/templates", order=40, build=build_router)
