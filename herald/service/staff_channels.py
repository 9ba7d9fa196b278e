"""Staff alerts' channel choices and Meta templates, and their last hours in numbers.

Which channels an alert goes by, first choice wins:

1. the call's ``channels``;
2. the admin template's (``herald template set NAME --channels``);
3. the recipient's groups' (``herald group set NAME --channels``), all of them for someone
   in several of the notice's groups;
4. the deployment's ``HERALD_STAFF_CHANNELS``;
5. the priority's route (``HERALD_PRIORITY_ROUTES``).

The failure alerts to the technical admins go by that group's channels, else the
deployment's, else the ``urgent`` route.

Outside WhatsApp's 24-hour window an alert goes as its admin template's Meta template
(``--meta-template``), which Meta must have approved: ``sync_meta_templates`` reads Meta's
review (``GET /{waba_id}/message_templates``) onto each template.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from herald import staff_channels_store as meta_store
from herald.admin_templates import AdminTemplateRenderer
from herald.channels.meta_templates import fetch_message_templates
from herald.contacts import check_locale
from herald.db import utcnow
from herald.errors import InvalidInput, NotFound, Unavailable
from herald.rendering import TemplateError
from herald.service.staff_setup import StaffSetupService
from herald.staff_channels_store import TemplateMeta
from herald.staff_routing import check_channels
from herald.validation import check_id, show

META_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
META_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2,4})?$")
MAX_PARAMS = 20
MAX_BUTTONS = 10
EXPRESSION_LIMIT = 1000
BUTTON_TYPES = ("quick_reply", "url")
MAX_HOURS = 24 * 90


def _expression(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty text")
    if len(value) > EXPRESSION_LIMIT:
        raise InvalidInput(f"{what} is {len(value)} characters; the limit is {EXPRESSION_LIMIT}")
    return value


def _languages(value: object) -> dict[str, str]:
    if isinstance(value, str):
        pairs = [p.split("=", 1) if "=" in p else ["*", p] for p in value.split(",") if p.strip()]
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict) or not value:
        raise InvalidInput("meta_languages must map locales to Meta language codes: fr=fr,en=en_US")
    languages: dict[str, str] = {}
    for locale, code in value.items():
        key = locale if locale == "*" else check_locale(str(locale))
        if not isinstance(code, str) or not META_LANGUAGE.match(code):
            raise InvalidInput(
                f"meta language for {key}: {show(code, 20)} is not a code like en_US"
            )
        languages[key] = code
    return languages


def _buttons(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("meta_buttons must be a list of {type, text}")
    if len(value) > MAX_BUTTONS:
        raise InvalidInput(f"{len(value)} buttons; Meta allows {MAX_BUTTONS}")
    buttons = []
    for i, button in enumerate(value, 1):
        if not isinstance(button, dict) or set(button) != {"type", "text"}:
            raise InvalidInput(
                f"button {i} must be {{type, text}}: type quick_reply (text: the payload) "
                "or url (text: the URL's suffix)"
            )
        if button["type"] not in BUTTON_TYPES:
            raise InvalidInput(
                f"button {i}: type {show(button['type'], 20)}: use quick_reply or url"
            )
        buttons.append({"type": button["type"], "text": _expression(button["text"], f"button {i}")})
    return buttons


class StaffChannelService(StaffSetupService):
    async def set_group_channels(self, name: str, channels: list[str] | None) -> list[str] | None:
        """The channels the group's members' staff alerts go by (None or [] clears the
        choice); returns them."""
        check_id(name, "group name")
        chosen = check_channels(channels)
        values = [c.value for c in chosen] if chosen else None
        if not await asyncio.to_thread(meta_store.set_group_channels, self.store, name, values):
            raise NotFound(f"no group {name!r}")
        return values

    async def set_template_options(
        self,
        name: str,
        *,
        channels: list[str] | None = None,
        meta_template: str | None = None,
        meta_languages: dict[str, str] | None = None,
        meta_params: list[str] | None = None,
        meta_buttons: list[dict[str, Any]] | None = None,
        clear: list[str] | None = None,
    ) -> TemplateMeta:
        """Set an admin template's channels and Meta template (each option left out stays
        as it was; ``clear`` names those to empty: ``channels``, ``meta_template``...).

        ``meta_params`` are Jinja expressions over the alert's context, in the order of
        the Meta template's ``{{1}}``, ``{{2}}``…; ``meta_buttons`` ``{type, text}``:
        ``quick_reply`` with its payload or ``url`` with the suffix of its URL, both Jinja."""
        check_id(name, "template name")
        changes: dict[str, Any] = {}
        for option in clear or []:
            if option not in meta_store.OPTION_FIELDS:
                raise InvalidInput(
                    f"cannot clear {show(option, 40)}: use {', '.join(meta_store.OPTION_FIELDS)}"
                )
            changes[option] = None
        if channels is not None:
            chosen = check_channels(channels)
            changes["channels"] = [c.value for c in chosen] if chosen else None
        if meta_template is not None:
            if not isinstance(meta_template, str) or not META_NAME.match(meta_template):
                raise InvalidInput(
                    f"meta template {show(meta_template, 40)}: Meta's names are lowercase "
                    "letters, digits and _"
                )
            changes["meta_template"] = meta_template
        if meta_languages is not None:
            changes["meta_languages"] = _languages(meta_languages)
        if meta_params is not None:
            if not isinstance(meta_params, list | tuple) or len(meta_params) > MAX_PARAMS:
                raise InvalidInput(f"meta_params must be a list of at most {MAX_PARAMS} texts")
            changes["meta_params"] = [
                _expression(p, f"meta parameter {i}") for i, p in enumerate(meta_params, 1)
            ] or None
        if meta_buttons is not None:
            changes["meta_buttons"] = _buttons(meta_buttons) or None
        params: list[str] = changes.get("meta_params") or []
        buttons: list[dict[str, Any]] = changes.get("meta_buttons") or []
        sources = [*params, *(b["text"] for b in buttons)]
        try:
            renderer = AdminTemplateRenderer()
            for source in sources:
                await asyncio.to_thread(renderer.check, source, f"template {name!r} Meta parameter")
        except TemplateError as err:
            raise InvalidInput(str(err)) from None
        rows = await asyncio.to_thread(meta_store.set_template_options, self.store, name, changes)
        if not rows:
            raise NotFound(f"no template {name!r}: create it first (set_template)")
        found = await asyncio.to_thread(meta_store.template_meta, self.store, name, "")
        assert found is not None  # rows were just written
        return found

    async def template_meta(self) -> list[TemplateMeta]:
        """Every admin template's locale with its channels, Meta template and Meta's review."""
        return await asyncio.to_thread(meta_store.list_template_meta, self.store)

    async def sync_meta_templates(self) -> list[TemplateMeta]:
        """Read Meta's message templates (``HERALD_META_WABA_ID``) onto each mapped admin
        template: APPROVED, PENDING, REJECTED (with the reason)… or MISSING."""
        s = self.settings
        if not s.meta_waba_id or s.meta_access_token is None:
            raise InvalidInput(
                "reading Meta's templates needs HERALD_META_WABA_ID and HERALD_META_ACCESS_TOKEN"
            )
        try:
            found = await asyncio.to_thread(fetch_message_templates, s)
        except RuntimeError as err:
            raise Unavailable(str(err)) from None
        reviews = {
            (t["name"], t["language"]): (t["status"], t.get("rejected_reason")) for t in found
        }
        return await asyncio.to_thread(meta_store.record_meta_review, self.store, reviews)

    async def staff_stats(self, hours: int = 24) -> dict[str, dict[str, dict[str, int]]]:
        """Staff alerts of the last ``hours``: ``{"templates": {name: {sent, pending,
        failed}}, "groups": {name: {…}}}`` (a delivery per person and channel; ``-`` for
        people named directly rather than through a group)."""
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise InvalidInput(f"hours must be a whole number from 1 to {MAX_HOURS}")
        since = utcnow() - timedelta(hours=hours)
        return await asyncio.to_thread(meta_store.staff_stats, self.store, since)
