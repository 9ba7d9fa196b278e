"""Jinja2 rendering of notifications: HTML e-mail, plain-text e-mail, short text (SMS/WhatsApp)
and the in-app inbox's text.

Templates live in ``herald/templates/<locale>/<kind>.{html,txt,short.txt,inbox.txt}``. The
``.txt`` template defines a ``subject`` block, rendered on its own: the e-mail's subject and
the in-app notice's title. ``.short.txt`` carries WhatsApp's ``*bold*`` and the signature;
``.inbox.txt`` is the plain body under the title in the application's bell (no headline,
no markers, no signature, no link: the bell shows the link apart). HTML is autoescaped,
undefined variables are errors, and every error names the template and the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

FALLBACK_LOCALE = "fr"

# What a broken template raises. Deliberately not ``Exception``: a cancellation delivered
# into the rendering thread must stay a cancellation, not become a "template error".
TEMPLATE_BUGS = (
    jinja2.TemplateError,
    TypeError,
    ValueError,
    AttributeError,
    LookupError,
    ArithmeticError,
)

_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
_UNITS = {
    "fr": (("jour", "jours"), ("heure", "heures"), ("minute", "minutes"), "et"),
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes"), "and"),
}


def language(locale: str) -> str:
    """``en-GB``, ``en_US``, ``EN`` → ``en``; anything unknown → the fallback (French)."""
    lang = locale.replace("_", "-").split("-")[0].lower() if locale else ""
    return lang if lang in _DAYS else FALLBACK_LOCALE


def format_datetime(value: datetime, timezone: str, locale: str) -> str:
    """``mercredi 25 novembre 2026 à 10:00`` / ``Wednesday 25 November 2026 at 10:00``, local."""
    if value.tzinfo is None:
        raise ValueError("format_datetime needs an aware datetime")
    local = value.astimezone(ZoneInfo(timezone))
    loc = language(locale)
    day, month = _DAYS[loc][local.weekday()], _MONTHS[loc][local.month - 1]
    joiner = "à" if loc == "fr" else "at"
    day_number = "1er" if loc == "fr" and local.day == 1 else str(local.day)
    return f"{day} {day_number} {month} {local.year} {joiner} {local:%H:%M}"


def format_date(value: date, locale: str) -> str:
    """``mardi 24 novembre 2026`` / ``Tuesday 24 November 2026``: a local day."""
    loc = language(locale)
    day, month = _DAYS[loc][value.weekday()], _MONTHS[loc][value.month - 1]
    day_number = "1er" if loc == "fr" and value.day == 1 else str(value.day)
    return f"{day} {day_number} {month} {value.year}"


def format_time(value: datetime, timezone: str) -> str:
    return f"{value.astimezone(ZoneInfo(timezone)):%H:%M}"


def format_duration(value: timedelta | int | float, locale: str) -> str:
    """A lateness in words: ``2 jours et 3 heures``, ``1 heure et 5 minutes``, ``45 minutes``.

    Beyond a day, minutes are noise and dropped; under a minute counts as one minute.
    """
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    minutes_total = max(seconds // 60, 1)
    days, rest = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        minutes = 0
    day_w, hour_w, min_w, and_w = _UNITS[language(locale)]
    parts = [
        f"{n} {words[0] if n == 1 else words[1]}"
        for n, words in ((days, day_w), (hours, hour_w), (minutes, min_w))
        if n
    ]
    return f" {and_w} ".join(parts)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    short: str
    inbox: str = ""


class Renderer:
    """Renders one notification kind in one locale from a context dict."""

    def __init__(self, loader: jinja2.BaseLoader | None = None) -> None:
        self.env = jinja2.Environment(
            loader=loader or jinja2.PackageLoader("herald", "templates"),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        # The folder searched before the package's templates (HERALD_TEMPLATES_DIR), if any.
        self.overrides: Path | None = None

    @classmethod
    def with_overrides(cls, templates_dir: Path | None) -> Renderer:
        """The package's templates, with those of ``templates_dir`` (same layout:
        ``<locale>/<kind>.html``…, ``layouts/…``) found first; ``None``: the package's alone.

        Every override is compiled here, so a broken one is refused at once with its file
        and line rather than at the first send that needs it."""
        if templates_dir is None:
            return cls()
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise TemplateError(f"HERALD_TEMPLATES_DIR {folder} is not a folder")
        renderer = cls(
            jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(folder), jinja2.PackageLoader("herald", "templates")]
            )
        )
        renderer.overrides = folder.resolve()
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name.endswith((".html", ".txt")):
                try:
                    renderer.env.parse(path.read_text(encoding="utf-8"), filename=str(path))
                except jinja2.TemplateSyntaxError as err:
                    raise TemplateError(
                        f"template override {path} line {err.lineno}: {err.message}"
                    ) from None
                except (OSError, UnicodeDecodeError) as err:
                    raise TemplateError(f"template override {path}: {err}") from None
        return renderer

    def overridden(self, name: str) -> bool:
        """Whether ``name`` comes from the overrides folder rather than the package."""
        if self.overrides is None:
            return False
        filename = self._template(name).filename
        return filename is not None and Path(filename).resolve().is_relative_to(self.overrides)

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateError(f"template {name} not found") from None
        except jinja2.TemplateSyntaxError as err:
            raise TemplateError(f"template {name} line {err.lineno}: {err.message}") from None

    def _render(self, name: str, context: dict[str, Any], block: str | None = None) -> str:
        template = self._template(name)
        try:
            if block is None:
                return template.render(context).strip()
            if block not in template.blocks:
                raise TemplateError(f"template {name} has no '{block}' block")
            return "".join(template.blocks[block](template.new_context(context))).strip()
        except TemplateError:
            raise
        except jinja2.UndefinedError as err:
            raise TemplateError(
                f"template {_where(err, name)}: undefined variable: {err.message}"
            ) from None
        except TEMPLATE_BUGS as err:  # a template bug is permanent, never retried
            raise TemplateError(
                f"template {_where(err, name)}: {type(err).__name__}: {err}"
            ) from None

    def render_string(self, source: str, context: dict[str, Any], *, where: str) -> str:
        """One expression or short template (e.g. a WhatsApp template parameter)."""
        try:
            return self.env.from_string(source).render(context).strip()
        except jinja2.UndefinedError as err:
            raise TemplateError(f"{where}: undefined variable: {err.message}") from None
        except TEMPLATE_BUGS as err:  # a broken parameter is permanent, never retried
            raise TemplateError(f"{where}: {type(err).__name__}: {err}") from None

    def render(
        self,
        kind: str,
        locale: str,
        context: dict[str, Any],
        *,
        email: bool = True,
        short: bool = True,
        inbox: bool = False,
    ) -> Rendered:
        """The subject always; the HTML and text e-mail when ``email``, the short text
        (SMS, WhatsApp) when ``short``, the in-app text when ``inbox``: a send renders
        only what its channel shows."""
        base = f"{language(locale)}/{kind}"
        subject = " ".join(self._render(f"{base}.txt", context, block="subject").split())
        context = {**context, "subject": subject}
        return Rendered(
            subject=subject,
            html=self._render(f"{base}.html", context) if email else "",
            text=self._render(f"{base}.txt", context) if email else "",
            short=self._render(f"{base}.short.txt", context) if short else "",
            inbox=self._render(f"{base}.inbox.txt", context) if inbox else "",
        )


def _where(err: BaseException, name: str) -> str:
    """The page and the innermost template line in the traceback (Jinja rewrites frames to
    them), so an error in a layout or macro names both: ``fr/x.html (layouts/m.html line 3)``."""
    where = None
    tb = err.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if "/templates/" in filename:
            where = f"{filename.rsplit('/templates/', 1)[1]} line {tb.tb_lineno}"
        elif filename == "<template>":
            where = f"{name} line {tb.tb_lineno}"
        tb = tb.tb_next
    if where is None:
        return name
    return where if where.startswith(f"{name} ") else f"{name} ({where})"


class TemplateError(Exception):
    """A template is missing or broken; the message names the template and the variable."""
