"""Ops tools around the delivery log: the log counted by status and channel, a built-in
kind previewed as it would be sent, and a test message through a channel's providers.

Test sends are not logged: the log's rows are notices of a subject (a loan, a repair...),
which a test message is not.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from herald.branding import brand_context
from herald.channels import OutgoingMessage, SendError, build_provider
from herald.channels.chain import send_through_chain
from herald.contacts import normalise_email, normalise_phone
from herald.db import utcnow
from herald.delivery_log import summarise
from herald.errors import InvalidInput, ProviderFailed
from herald.kinds import MAX_LENGTH, Channel
from herald.rendering import Renderer, TemplateError, format_datetime, language
from herald.service.deliveries import DeliveryService, log_filter
from herald.template_samples import BUILT_IN_KINDS, sample_context
from herald.validation import show

log = logging.getLogger("herald.service")

LOCALES = ("fr", "en")
# Each preview format: the template file it comes from (``<locale>/<kind>.<ext>``).
FORMATS = {"html": "html", "text": "txt", "short": "short.txt", "inbox": "inbox.txt"}
TESTABLE = {c.value: c for c in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)}
TEST_KIND = "system.test"
TEST_COLOR = "#1f3a5f"


class DeliveryLogService(DeliveryService):
    def _renderer(self) -> Renderer:
        """The worker's renderer: the package's templates under HERALD_TEMPLATES_DIR's."""
        try:
            return Renderer.with_overrides(self.settings.templates_dir)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None

    async def delivery_summary(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """How many rows of the log match the filters of :meth:`deliveries`: ``total``,
        ``by_status`` and ``by_channel`` (status or channel → count, largest first)."""
        where = log_filter(
            loan_id=loan_id,
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
        )
        return await asyncio.to_thread(summarise, self.store, where)

    async def preview_kind(
        self, kind: str, *, locale: str = "fr", format: str = "text"
    ) -> dict[str, Any]:
        """A built-in kind rendered with sample facts of its subject type, as the worker
        would render it (HERALD_TEMPLATES_DIR's overrides first): ``subject`` and ``body``
        in ``format`` (``html``, ``text`` e-mail, ``short`` for SMS and WhatsApp, or
        ``inbox``: the in-app notice's text under its title, the subject), and whether that
        template is an override (``overridden``)."""
        if kind not in BUILT_IN_KINDS:
            raise InvalidInput(f"unknown kind {show(kind, 40)}: see herald.kinds")
        if locale not in LOCALES:
            raise InvalidInput(f"unknown locale {show(locale, 20)}: use fr or en")
        if format not in FORMATS:
            raise InvalidInput(f"unknown format {show(format, 20)}: use {', '.join(FORMATS)}")

        def render() -> dict[str, Any]:
            renderer = self._renderer()
            context = sample_context(kind, locale=locale, settings=self.settings, renderer=renderer)
            out = renderer.render(
                kind,
                locale,
                context,
                email=format in ("html", "text"),
                short=format == "short",
                inbox=format == "inbox",
            )
            body = {"html": out.html, "text": out.text, "short": out.short, "inbox": out.inbox}
            return {
                "kind": kind,
                "locale": locale,
                "format": format,
                "subject": out.subject,
                "body": body[format],
                "overridden": renderer.overridden(f"{locale}/{kind}.{FORMATS[format]}"),
            }

        try:
            return await asyncio.to_thread(render)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None

    def _test_address(self, channel: Channel, address: object) -> str:
        if not isinstance(address, str):
            raise InvalidInput(f"the {channel.value} address must be text")
        if channel is Channel.EMAIL:
            s = self.settings
            return normalise_email(
                address, smtputf8=s.email_smtputf8, special_use_domains=s.email_special_use_domains
            )
        return normalise_phone(address, self.settings.default_phone_region)

    async def test_send(self, channel: str, address: str) -> dict[str, Any]:
        """Send a short test message to ``address`` through ``channel``'s provider chain,
        with the worker's failover; answers which provider accepted it and its message id
        (``{channel, address, provider, message_id}``). An address refused before sending
        is :class:`InvalidInput`; every provider failing, :class:`ProviderFailed` with each
        one's classified reason."""
        ch = TESTABLE.get(channel) if isinstance(channel, str) else None
        if ch is None:
            raise InvalidInput(
                f"unknown channel {show(channel, 40)} for a test: use {', '.join(TESTABLE)}"
            )
        to = self._test_address(ch, address)
        names = self.settings.provider_chain(ch)
        if not names:
            raise ProviderFailed(f"no {ch.value} provider configured (HERALD_{ch.name}_PROVIDER)")
        return await asyncio.to_thread(self._test_send, ch, to, names)

    def _test_send(self, ch: Channel, to: str, names: list[str]) -> dict[str, Any]:
        s = self.settings
        try:
            chain = [build_provider(name, ch, s, self.store) for name in names]
        except ValueError as err:
            raise ProviderFailed(f"the {ch.value} provider is not set up: {err}") from None
        locale = s.default_locale
        sent_at = utcnow()
        context = {
            "kind": TEST_KIND,
            "color": TEST_COLOR,
            "role": "staff",
            "recipient": {
                "id": "test",
                "name": to,
                "locale": locale,
                "timezone": s.default_timezone,
            },
            "brand": brand_context(s),
            "test": {
                "channel": ch.value,
                "address": to,
                "sent_at": format_datetime(sent_at, s.default_timezone, language(locale)),
            },
        }
        try:
            out = self._renderer().render(TEST_KIND, locale, context, email=ch is Channel.EMAIL)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None
        text = out.text if ch is Channel.EMAIL else out.short
        limit = MAX_LENGTH.get(ch)
        if limit is not None and len(text) > limit:
            raise InvalidInput(f"the test message is over the {ch.value} limit of {limit}")
        message = OutgoingMessage(
            channel=ch,
            to=to,
            subject=out.subject,
            text=text,
            html=out.html if ch is Channel.EMAIL else None,
            key=f"test-{uuid.uuid4().hex}",
            kind=TEST_KIND,
        )
        try:
            receipt = send_through_chain(chain, message, walk_chain=True)
        except SendError as err:
            raise ProviderFailed(f"{ch.value} test to {to} failed: {err.reason}") from None
        log.info("test %s to %s sent via %s", ch.value, to, receipt.provider)
        return {
            "channel": ch.value,
            "address": to,
            "provider": receipt.provider,
            "message_id": receipt.message_id,
        }
