"""Loans, repairs and follow-ups: one kind at a time, overdue now, upcoming or all, searched
by id (``Herald.objects``, from Temporal visibility), page after page; one object in detail
(``Herald.object_info``); and its next notice sent by hand (``Herald.send_reminder_now``),
the result shown once after the redirect so that a reload never sends twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.console.pages import ConsolePage
from herald.errors import HeraldError, InvalidInput, NotFound
from herald.objects import STATES, ObjectRow, object_kinds

if TYPE_CHECKING:
    from herald.console.app import Console

DEFAULT_KIND = "loan"
DEFAULT_STATE = "overdue"
PAGE_SIZE = 50
# The flash that carries a "send now" result to the next page, shown there as a card.
SENT = "obj.sent"


def order(row: ObjectRow) -> tuple[Any, ...]:
    """Overdue first, then running before closed, then by due time (a repair has none: its
    next alert, else when it started), then by id."""
    when = row.due_at or (row.next_reminder.at if row.next_reminder else row.next_reminder_at)
    return (not row.overdue, not row.running, when is None, when or row.started_at, row.id)


def listing_url(
    base: str, kind: str, state: str, search: str = "", token: str = "", limit: int = PAGE_SIZE
) -> str:
    query: dict[str, object] = {"kind": kind, "state": state}
    if search:
        query["search"] = search
    if limit != PAGE_SIZE:
        query["limit"] = limit
    if token:
        query["page_token"] = token
    return f"{base}/objects?{urlencode(query)}"


def detail_path(kind: str, object_id: str) -> str:
    return f"/objects/{quote(kind, safe='')}/{quote(object_id, safe='')}"


def channels_text(channels: dict[str, Any]) -> str:
    """A send's channels as a flash can carry them: ``email=sent,in_app=sent``."""
    return ",".join(f"{channel}={status}" for channel, status in channels.items())


def channels_of(text: str) -> list[tuple[str, str]]:
    pairs = (part.partition("=") for part in text.split(",") if part)
    return [(channel, status) for channel, _, status in pairs]


def build_router(console: Console) -> APIRouter:
    r = APIRouter()
    herald = console.herald

    def take_result(request: Request) -> dict[str, Any] | None:
        """The last "send now" result, once: a reload shows the page without it."""
        session = console.session(request)
        found = next((f for f in session.flash if f.get("key") == SENT), None)
        if found is None:
            return None
        session.flash.remove(found)
        session.changed = True
        params = dict(found.get("params") or {})
        params["channels"] = channels_of(str(params.get("channels", "")))
        return params

    @r.get("/objects")
    async def listing(
        request: Request,
        kind: str = DEFAULT_KIND,
        state: str = DEFAULT_STATE,
        search: str = "",
        page_token: str = "",
        limit: int = PAGE_SIZE,
    ) -> Response:
        console.signed_in(request)
        base = console.base(request)
        search = search.strip()
        refused: str | None = None
        status = 200
        rows: list[ObjectRow] = []
        next_token: str | None = None
        try:
            page = await herald.objects(
                kind,
                state=state,
                search=search or None,
                limit=limit,
                page_token=page_token or None,
            )
        except InvalidInput as err:
            refused, status = str(err), 422
        except HeraldError as err:
            refused, status = str(err), 503
        else:
            rows = sorted(page.items, key=order)
            next_token = page.next_page_token
        kinds = object_kinds()
        shown_kind = kind if kind in kinds else None
        shown_state = state if state in STATES else None
        return console.render(
            request,
            "console/objects.html",
            status_code=status,
            kind=shown_kind,
            state=shown_state,
            search=search,
            rows=rows,
            refused=refused,
            result=take_result(request),
            now=datetime.now(UTC),
            kind_urls={k: listing_url(base, k, shown_state or DEFAULT_STATE) for k in kinds},
            state_urls={
                s: listing_url(base, shown_kind or DEFAULT_KIND, s, search, limit=limit)
                for s in STATES
            },
            next_url=(
                listing_url(base, kind, state, search, next_token, limit) if next_token else None
            ),
            first_url=(
                listing_url(base, kind, state, search, limit=limit)
                if page_token and shown_kind and shown_state
                else None
            ),
            clear_url=listing_url(base, shown_kind or DEFAULT_KIND, shown_state or DEFAULT_STATE),
            limit=limit,
        )

    @r.get("/objects/{kind}/{object_id}")
    async def detail(request: Request, kind: str, object_id: str) -> Response:
        console.signed_in(request)
        try:
            row = await herald.object_info(kind, object_id)
        except NotFound as err:
            t = console.texts(request)
            return console.render(
                request,
                "console/error.html",
                status_code=404,
                title=t("obj.not_found_title"),
                message=str(err),
            )
        except InvalidInput as err:
            t = console.texts(request)
            return console.render(
                request,
                "console/error.html",
                status_code=422,
                title=t("error.generic_title"),
                message=t("obj.refused", reason=err),
            )
        except HeraldError as err:  # Temporal unreachable
            t = console.texts(request)
            return console.render(
                request,
                "console/error.html",
                status_code=503,
                title=t("error.generic_title"),
                message=str(err),
            )
        base = console.base(request)
        return console.render(
            request,
            "console/object.html",
            row=row,
            kind=row.kind,
            result=take_result(request),
            now=datetime.now(UTC),
            back_url=listing_url(base, row.kind, "overdue" if row.overdue else "all"),
        )

    @r.post("/objects/{kind}/{object_id}/send-now")
    async def send_now(
        request: Request,
        kind: str,
        object_id: str,
        notice: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        console.signed_in(request)
        try:
            sent = await herald.send_reminder_now(kind, object_id, notice=notice or None)
        except HeraldError as err:
            console.flash(request, "error", "obj.send_refused", id=object_id, reason=err)
        else:
            # Shown once by the next GET, so that a reload does not send again.
            console.flash(
                request,
                "result",
                SENT,
                kind=kind,
                id=object_id,
                notice=notice or sent.notification_id.partition("@")[0],
                notification=sent.notification_id,
                channels=channels_text(sent.channels),
            )
        # Back to the page the button was on; else (none, or not one of ours) the object's.
        back = bool(next) and console.safe_next(request, next) == next
        return console.redirect(request, next if back else detail_path(kind, object_id))

    return r


PAGE = ConsolePage(slug="subjects", path="/objects", order=50, build=build_router)
