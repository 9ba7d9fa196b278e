"""Ops tools around the delivery log: the log counted by status and channel, and a
built-in kind previewed as it would be sent."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from herald.delivery_log import summarise
from herald.errors import InvalidInput
from herald.rendering import Renderer, TemplateError
from herald.service.deliveries import DeliveryService, log_filter
from herald.template_samples import BUILT_IN_KINDS, sample_context
from herald.validation import show

LOCALES = ("fr", "en")
FORMATS = ("html", "text", "short")


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
        in ``format`` (``html``, ``text`` e-mail, or ``short`` for SMS and WhatsApp), and
        whether that template is an override (``overridden``)."""
        if kind not in BUILT_IN_KINDS:
            raise InvalidInput(f"unknown kind {show(kind, 40)}: see herald.kinds")
        if locale not in LOCALES:
            raise InvalidInput(f"unknown locale {show(locale, 20)}: use fr or en")
        if format not in FORMATS:
            raise InvalidInput(f"unknown format {show(format, 20)}: use {', '.join(FORMATS)}")

        def render() -> dict[str, Any]:
            renderer = self._renderer()
            context = sample_context(kind, locale=locale, settings=self.settings, renderer=renderer)
            out = renderer.render(kind, locale, context, email=format != "short")
            body = {"html": out.html, "text": out.text, "short": out.short}[format]
            ext = {"html": "html", "text": "txt", "short": "short.txt"}[format]
            return {
                "kind": kind,
                "locale": locale,
                "format": format,
                "subject": out.subject,
                "body": body,
                "overridden": renderer.overridden(f"{locale}/{kind}.{ext}"),
            }

        try:
            return await asyncio.to_thread(render)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None
