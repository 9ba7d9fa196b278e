"""The browser's routes: a person's own inbox and preferences, authenticated by a subscriber
token (``Authorization: Bearer <token>``; the stream also takes ``?token=``, as a browser's
EventSource cannot send headers), and the application's route that mints one.

A token names one person, and these routes have no person in their path: whatever a
token's holder sends, they read and change that person's notifications and preferences
only. Each route is one call of the service layer; refusals are its own, as problem+json.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations, and
# ``Person`` is local to build_me_routers.
import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from herald.api import models as m
from herald.api.inbox_routes import (
    ArchiveBody,
    InboxChanged,
    NotificationIdsBody,
    UnarchiveBody,
)
from herald.api.inbox_stream import UnreadWatcher
from herald.errors import TokenRefused
from herald.holding import WEEKDAYS
from herald.kinds import ALL_CHANNELS, CATEGORIES, KINDS, OPTIONAL_KINDS
from herald.settings import Settings
from herald.store import UNROUTED_DEFAULTS, PreferenceSet
from herald.subscriber_tokens import DEFAULT_TTL_SECONDS, SubscriberToken, Verified

if TYPE_CHECKING:
    from starter.client import Herald

# How long a browser waits before reconnecting a dropped stream (EventSource's retry).
STREAM_RETRY_MS = 5000
# A comment line this often keeps proxies from closing an idle stream.
STREAM_PING = 15
BEARER_DOC: dict[int | str, dict[str, Any]] = {
    401: {
        "model": m.Problem,
        "description": "No subscriber token, or a forged, expired or foreign one",
    }
}


class TokenBody(m.Body):
    model_config = m._examples({"ttl": 3600})

    ttl: int = Field(
        default=DEFAULT_TTL_SECONDS,
        description="Seconds the token lives: 60 to 86,400 (one hour by default)",
    )


class Brand(BaseModel):
    name: str
    color: str
    secondary_color: str


class Me(BaseModel):
    subscriber_id: str
    name: str | None
    locale: str
    timezone: str
    unread: int
    token_expires_at: datetime
    brand: Brand


class KindChoice(BaseModel):
    name: str
    category: str | None
    description: str


class PreferenceChoices(BaseModel):
    channels: list[str]
    channel_defaults: dict[str, bool] = Field(
        description="What a channel never chosen means for a notice not routed by priority"
    )
    categories: list[str]
    kinds: list[KindChoice] = Field(description="The kinds a person may switch off one by one")
    weekdays: list[str]


class MyPreferences(BaseModel):
    subscriber_id: str
    locale: str
    timezone: str
    preferences: PreferenceSet
    addresses: dict[str, str | None] = Field(description="Where each channel reaches the person")
    choices: PreferenceChoices


CHOICES = PreferenceChoices(
    channels=[c.value for c in ALL_CHANNELS],
    channel_defaults={c.value: on for c, on in UNROUTED_DEFAULTS.items()},
    categories=list(CATEGORIES),
    kinds=[
        KindChoice(name=k, category=KINDS[k].category, description=KINDS[k].description)
        for k in OPTIONAL_KINDS
    ],
    weekdays=list(WEEKDAYS),
)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise TokenRefused("a subscriber token is required: Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused("send the subscriber token as Authorization: Bearer <token>")
    return token.strip()


def build_me_routers(
    herald: "Herald", settings: Settings, *, problems: dict[int | str, dict[str, Any]]
) -> list[APIRouter]:
    """The token route (API key, like every ``/v1`` route) and the ``/v1/me`` routes."""
    watcher = UnreadWatcher(herald.store, settings.inbox_stream_tick)

    def me(request: Request) -> Verified:
        return herald.subscriber_for_token(_bearer(request))

    Person = Annotated[Verified, Depends(me)]
    responses: dict[int | str, dict[str, Any]] = {**problems, **BEARER_DOC}
    tokens = APIRouter(prefix="/v1", responses=problems)
    r = APIRouter(prefix="/v1/me", tags=["me (browser)"], responses=responses)

    @tokens.post(
        "/subscribers/{subscriber_id}/token",
        tags=["subscribers"],
        response_model=SubscriberToken,
        description="A signed token for the person's browser: the bell and the preferences "
        "page send it to the `/v1/me` routes, which then serve this person only, until it "
        "expires. Mint it server-side; never send an API key to a browser.",
    )
    async def mint_token(
        subscriber_id: str, response: Response, body: TokenBody | None = None
    ) -> SubscriberToken:
        body = body or TokenBody()
        minted = await herald.mint_subscriber_token(subscriber_id, ttl=body.ttl)
        response.headers["Cache-Control"] = "no-store"  # a secret: kept by no cache, no replay
        return minted

    @r.get("/profile", response_model=Me)
    async def whoami(person: Person) -> Me:
        """The token's person: name, language, time zone, unread count, and the brand."""
        contact = await herald.get_subscriber(person.subscriber_id)
        unread = await herald.unread_count(person.subscriber_id)
        return Me(
            subscriber_id=contact.id,
            name=contact.name,
            locale=contact.locale,
            timezone=contact.timezone,
            unread=unread,
            token_expires_at=person.expires_at,
            brand=Brand(
                name=settings.brand_name,
                color=settings.brand_color,
                secondary_color=settings.brand_secondary_color,
            ),
        )

    @r.get("/inbox", response_model=list[m.InboxItem])
    async def inbox(
        person: Person,
        page: Annotated[int, Query(description="Pages start at 1")] = 1,
        page_size: Annotated[int, Query(description="Notifications per page")] = 20,
        read: Annotated[
            bool | None, Query(description="Only the read (true) or unread (false) ones")
        ] = None,
        category: Annotated[str | None, Query(description="One category")] = None,
        archived: Annotated[bool, Query(description="The archived ones instead")] = False,
        search: Annotated[str | None, Query(description="Text in the title or body")] = None,
    ) -> list[dict[str, Any]]:
        """The person's notifications, unread first, newest first."""
        return await herald.inbox(
            person.subscriber_id,
            page=page,
            page_size=page_size,
            read=read,
            category=category,
            archived=archived,
            search=search,
        )

    @r.get("/inbox/unread-count", response_model=m.UnreadCount)
    async def unread_count(person: Person) -> m.UnreadCount:
        count = await herald.unread_count(person.subscriber_id)
        return m.UnreadCount(subscriber_id=person.subscriber_id, unread=count)

    @r.post("/inbox/read", response_model=m.MarkedRead)
    async def mark_read(person: Person, body: m.MarkReadBody) -> m.MarkedRead:
        """Mark some of the person's notifications read, or all with ``null``."""
        changed = await herald.mark_read(person.subscriber_id, body.notification_ids)
        watcher.poke()
        return m.MarkedRead(subscriber_id=person.subscriber_id, marked_read=changed)

    @r.post("/inbox/unread", response_model=InboxChanged)
    async def mark_unread(person: Person, body: NotificationIdsBody) -> InboxChanged:
        done = await herald.mark_unread(person.subscriber_id, body.notification_ids)
        watcher.poke()
        return InboxChanged(**done)

    @r.post("/inbox/archive", response_model=InboxChanged)
    async def archive(person: Person, body: ArchiveBody) -> InboxChanged:
        done = await herald.archive(person.subscriber_id, body.notification_ids)
        watcher.poke()
        return InboxChanged(**done)

    @r.post("/inbox/unarchive", response_model=InboxChanged)
    async def unarchive(person: Person, body: UnarchiveBody) -> InboxChanged:
        """Restore some of the person's archived notifications, or all with ``null``."""
        done = await herald.unarchive(person.subscriber_id, body.notification_ids)
        watcher.poke()
        return InboxChanged(**done)

    @r.get(
        "/inbox/stream",
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
        description='Server-sent events: `unread` with `{"unread": N}` at once and whenever '
        "the count changes; `expired` when the token does, then the stream ends. The token "
        "comes as `Authorization: Bearer` or, for a browser's EventSource, `?token=`.",
    )
    async def stream(
        request: Request,
        token: Annotated[
            str | None, Query(description="The subscriber token (EventSource only)")
        ] = None,
    ) -> EventSourceResponse:
        person = herald.subscriber_for_token(token if token is not None else _bearer(request))
        count = await herald.unread_count(person.subscriber_id)  # the person still exists

        async def events() -> AsyncIterator[ServerSentEvent]:
            async with watcher.listening(person.subscriber_id, count) as listener:
                yield _unread(listener.count, retry=STREAM_RETRY_MS)
                while True:
                    left = (person.expires_at - datetime.now(UTC)).total_seconds()
                    if left <= 0:
                        yield ServerSentEvent(event="expired", data="{}")
                        return
                    try:
                        await asyncio.wait_for(listener.changed.wait(), left)
                    except TimeoutError:
                        continue
                    listener.changed.clear()
                    yield _unread(listener.count)

        return EventSourceResponse(events(), ping=STREAM_PING)

    @r.get("/preferences", response_model=MyPreferences)
    async def preferences(person: Person) -> MyPreferences:
        """The person's preferences, where each channel reaches them, and the choices."""
        return await _mine(herald, person.subscriber_id)

    @r.put("/preferences", response_model=MyPreferences)
    async def set_preferences(person: Person, body: m.PreferencesBody) -> MyPreferences:
        """Change the fields given, with the same checks and messages as the CLI."""
        fields = {n: getattr(body, n) for n in m.PREFERENCE_FIELDS if n in body.model_fields_set}
        await herald.set_preferences(person.subscriber_id, **fields)
        return await _mine(herald, person.subscriber_id)

    return [tokens, r]


def _unread(count: int, retry: int | None = None) -> ServerSentEvent:
    return ServerSentEvent(event="unread", data=json.dumps({"unread": count}), retry=retry)


async def _mine(herald: "Herald", subscriber_id: str) -> MyPreferences:
    contact = await herald.get_subscriber(subscriber_id)
    prefs = await herald.get_preferences(subscriber_id)
    return MyPreferences(
        subscriber_id=subscriber_id,
        locale=contact.locale,
        timezone=contact.timezone,
        preferences=prefs,
        addresses={c.value: contact.address(c) for c in ALL_CHANNELS},
        choices=CHOICES,
    )
