"""Setting staff alerts up in bulk: several groups at once, and a set of admin templates
from one document (a JSON or YAML file on the command line). Each entry is checked as
:meth:`~herald.service.staff.StaffService.create_group` and
:meth:`~herald.service.staff.StaffService.set_template` check one; one refused entry
refuses them all, and nothing is written."""

from __future__ import annotations

import asyncio
from typing import Any

from herald import staff_store
from herald.errors import InvalidInput
from herald.service.staff import StaffService
from herald.store import TemplateText
from herald.validation import check_id, optional_text, show

MAX_ENTRIES = 500
GROUP_FIELDS = ("name", "display_name", "description")
TEMPLATE_FIELDS = ("name", "locale", "subject", "body", "short")


def _entries(value: object, what: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"the {what} must be a list")
    if not value:
        raise InvalidInput(f"give at least one {what[:-1]}")
    if len(value) > MAX_ENTRIES:
        raise InvalidInput(f"{len(value)} {what}; the limit is {MAX_ENTRIES} at once")
    for i, entry in enumerate(value, 1):
        if not isinstance(entry, dict):
            raise InvalidInput(f"{what[:-1]} {i} must be an object with {', '.join(fields)}")
        unknown = sorted(str(k) for k in entry if k not in fields)
        if unknown:
            raise InvalidInput(
                f"{what[:-1]} {i} has unknown field {show(unknown[0], 40)}: use {', '.join(fields)}"
            )
    return list(value)


def _at(i: int, what: str, err: InvalidInput) -> InvalidInput:
    return InvalidInput(f"{what} {i}: {err}")


class StaffSetupService(StaffService):
    async def create_groups(self, groups: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Create several groups, each ``{"name", "display_name"?, "description"?}``; those
        already there are left as they are. Returns the names ``created`` and ``existing``."""
        checked: list[tuple[str, str | None, str | None]] = []
        for i, entry in enumerate(_entries(groups, "groups", GROUP_FIELDS), 1):
            try:
                checked.append(
                    (
                        check_id(entry.get("name"), "group name"),
                        optional_text(entry.get("display_name"), "display_name"),
                        optional_text(entry.get("description"), "description"),
                    )
                )
            except InvalidInput as err:
                raise _at(i, "group", err) from None
        names = [name for name, _, _ in checked]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise InvalidInput(f"group {twice!r} is given twice")
        created, existing = await asyncio.to_thread(staff_store.create_groups, self.store, checked)
        return {"created": created, "existing": existing}

    async def load_templates(self, templates: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Create or replace several admin templates, each ``{"name", "locale", "subject",
        "body", "short"?}`` checked as ``set_template`` checks one; all or none. Returns
        the ``name/locale`` of those ``created`` and ``updated``."""
        checked: list[TemplateText] = []
        for i, entry in enumerate(_entries(templates, "templates", TEMPLATE_FIELDS), 1):
            try:
                one = await asyncio.to_thread(
                    self._checked_template,
                    entry.get("name"),
                    locale=entry.get("locale"),
                    subject=entry.get("subject"),
                    body=entry.get("body"),
                    short=entry.get("short"),
                )
            except InvalidInput as err:
                raise _at(i, "template", err) from None
            checked.append(one)
        keys = [(t.name, t.locale) for t in checked]
        twice = next((k for k in keys if keys.count(k) > 1), None)
        if twice is not None:
            raise InvalidInput(f"template {twice[0]!r} in {twice[1]!r} is given twice")
        created, updated = await asyncio.to_thread(
            staff_store.upsert_templates, self.store, checked
        )
        return {"created": created, "updated": updated}
