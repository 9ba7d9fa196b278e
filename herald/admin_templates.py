"""Templates that admins write in the database (staff alerts), rendered in a Jinja2 sandbox.

Admins are not developers: their templates run in ``ImmutableSandboxedEnvironment``, so
attribute tricks (``{{ ''.__class__.__mro__ }}``), calls to unsafe methods and mutation of
the context are refused. Undefined variables are errors, reported with the template's name.
A notice whose template does not exist still goes out with a plain fallback that lists the
context, so nothing is lost because a template was deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from herald.rendering import TEMPLATE_BUGS, TemplateError
from herald.store import TemplateText

SHORT_LIMIT = 1000
CACHE_SIZE = 256


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    short: str


class AdminTemplateRenderer:
    def __init__(self) -> None:
        self.env = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        self._cache: dict[str, jinja2.Template] = {}

    def _compiled(self, source: str) -> jinja2.Template:
        # A notice to a thousand people renders the same few templates a thousand times.
        template = self._cache.get(source)
        if template is None:
            template = self.env.from_string(source)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[source] = template
        return template

    def _render(self, source: str, context: dict[str, Any], where: str) -> str:
        try:
            return self._compiled(source).render(context).strip()
        except SecurityError as err:
            raise TemplateError(f"{where}: refused by the sandbox: {err}") from None
        except jinja2.UndefinedError as err:
            raise TemplateError(f"{where}: undefined variable: {err.message}") from None
        except jinja2.TemplateSyntaxError as err:
            raise TemplateError(f"{where} line {err.lineno}: {err.message}") from None
        except TEMPLATE_BUGS as err:  # an admin's broken template is permanent, never retried
            raise TemplateError(f"{where}: {type(err).__name__}: {err}") from None

    def check(self, source: str, where: str) -> None:
        """Refuse a template that does not even parse (used when admins save one)."""
        try:
            self.env.parse(source)
        except jinja2.TemplateSyntaxError as err:
            raise TemplateError(f"{where} line {err.lineno}: {err.message}") from None

    def render(self, name: str, template: TemplateText | None, context: dict[str, Any]) -> Notice:
        if template is None:
            return fallback_notice(name, context)
        where = f"template {name!r} ({template.locale})"
        title = " ".join(self._render(template.subject, context, f"{where} subject").split())
        body = self._render(template.body, context, f"{where} body")
        short = (
            self._render(template.short, context, f"{where} short")
            if template.short
            else f"*{title}*\n{body}"
        )
        return Notice(title=title, body=body, short=short[:SHORT_LIMIT])


def fallback_notice(name: str, context: dict[str, Any]) -> Notice:
    """What goes out when a template is missing: its name as the title, the facts as lines."""
    title = name.replace("_", " ").replace(".", " ").strip().capitalize() or "Notification"
    facts = [
        f"{key}: {value}"
        for key, value in context.items()
        if key not in ("recipient", "brand") and isinstance(value, str | int | float | bool)
    ]
    body = "\n".join(facts) if facts else title
    return Notice(title=title, body=body, short=f"*{title}*\n{body}"[:SHORT_LIMIT])
