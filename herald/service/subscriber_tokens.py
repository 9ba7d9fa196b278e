"""Subscriber tokens: the application mints one for a person's page; the browser's routes
(``/v1/me/...``) learn from it whom they serve (see :mod:`herald.subscriber_tokens`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from herald.errors import Unavailable
from herald.service.directory import DirectoryService
from herald.subscriber_tokens import (
    DEFAULT_TTL_SECONDS,
    NOT_SET_UP,
    SubscriberToken,
    Verified,
    check_ttl,
    mint,
    token_secret,
    verify,
)


class SubscriberTokenService(DirectoryService):
    async def mint_subscriber_token(
        self, subscriber_id: str, *, ttl: int | timedelta = DEFAULT_TTL_SECONDS
    ) -> SubscriberToken:
        """A signed token that lets a browser read and change this person's inbox and
        preferences, and nobody else's, for ``ttl`` seconds (60 to 86,400; one hour by
        default). Mint it server-side: it is the person's key until it expires."""
        lifetime = check_ttl(ttl)
        await self.get_subscriber(subscriber_id)
        secret = await asyncio.to_thread(token_secret, self.settings)
        if secret is None:
            raise Unavailable(NOT_SET_UP)
        return mint(secret, subscriber_id, lifetime)

    def subscriber_for_token(self, token: str) -> Verified:
        """The person a token names and when it expires; :class:`~herald.errors.TokenRefused`
        for a missing, forged, expired or foreign one. Checks the signature only: each call
        made with the id still finds the person (or answers that they are gone)."""
        secret = token_secret(self.settings)
        if secret is None:
            raise Unavailable(NOT_SET_UP)
        return verify(secret, token)
