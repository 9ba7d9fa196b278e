"""Templates that admins write in the database (staff alerts), rendered in a Jinja2 sandbox.

Admins are not developers: their templates run in ``ImmutableSandboxedEnvironment``, so
attribute tricks (``{{ ''.__class__.__mro__ }}``), calls to unsafe methods and mutation of
the context are refused. Undefined variables are errors, reported with the template's name.
A notice whose template does not exist still goes out with a plain fallback that lists the
context, so nothing is lost because a template was deleted.

An admin's template cannot hurt the worker either:

- each field is at most ``TEMPLATE_LIMIT`` bytes, checked before it is parsed;
- ``*``, ``**`` and ``%`` that would build a huge value are refused before it is built;
- the output is counted while it is produced and stopped past ``OUTPUT_LIMIT``;
- parsing and rendering run in a pool of worker processes (:class:`RenderPool`) with an
  address-space cap (``MEMORY_LIMIT``); a render still running after ``RENDER_SECONDS`` has
  its process killed (a loop that never ends stops there, and frees its core);
- an explicit short text is at most ``SHORT_LIMIT`` characters, never cut.

Every limit broken is a :class:`TemplateError`: refused at save, a permanent delivery
failure with its reason at send, the same answer from ``herald template preview``.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import operator
import re
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from herald.rendering import TEMPLATE_BUGS, TemplateError

if TYPE_CHECKING:
    from herald.store import TemplateText

SHORT_LIMIT = 1000  # characters of an explicit short text, source and result
TEMPLATE_LIMIT = 64 * 1024  # bytes of each field (subject, body, short)
OUTPUT_LIMIT = 256 * 1024  # characters a field may render to
VALUE_LIMIT = OUTPUT_LIMIT  # length of a string or list built by * or %
INT_BITS_LIMIT = (
    14_000  # bits of an integer built by * or ** (about the 4,300 digits Python prints)
)
RENDER_SECONDS = 5.0  # wall time of one render (or syntax check) before its process is killed
MEMORY_LIMIT = 512 * 1024 * 1024  # address space of a render process
POOL_WORKERS = 2
CACHE_SIZE = 256

T = TypeVar("T")


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    short: str


# ---------------------------------------------------------------- the sandbox


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, refusing operators whose result would be huge."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        fmt, center, indent = self.filters["format"], self.filters["center"], self.filters["indent"]

        def limited_format(value: Any, *args: Any, **kwargs: Any) -> Any:
            _check_format(value)
            return fmt(value, *args, **kwargs)

        def limited_center(value: Any, width: Any = 80) -> Any:
            _check_width(width)
            return center(value, width)

        def limited_indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> Any:
            _check_width(width)
            return indent(value, width, *args, **kwargs)

        self.filters.update(format=limited_format, center=limited_center, indent=limited_indent)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            pattern = getattr(value, "__self__", None)
            for field in _FIELD.findall(pattern if isinstance(pattern, str) else ""):
                for number in re.findall(r"\d+", field):
                    _check_width(int(number))
        return wrapped

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            _check_multiply(left, right)
            return operator.mul(left, right)
        if operator_ == "**":
            _check_power(left, right)
            return operator.pow(left, right)
        if operator_ == "%":
            _check_format(left)
            return operator.mod(left, right)
        return super().call_binop(context, operator_, left, right)


def _sized(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _check_multiply(left: Any, right: Any) -> None:
    for seq, count in ((left, right), (right, left)):
        if _sized(seq) and isinstance(count, int) and len(seq) * count > VALUE_LIMIT:
            raise SecurityError(
                f"refused: a value of {len(seq) * count} items (limit {VALUE_LIMIT})"
            )
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and abs(left).bit_length() + abs(right).bit_length() > INT_BITS_LIMIT
    ):
        raise SecurityError(f"refused: a number over {INT_BITS_LIMIT} bits")


def _check_power(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and abs(base) > 1
        and abs(base).bit_length() * exponent > INT_BITS_LIMIT
    ):
        raise SecurityError(f"refused: a number over {INT_BITS_LIMIT} bits")


_WIDTH = re.compile(r"%[-#0 +]*(\d+)?(?:\.(\d+))?")
_FIELD = re.compile(r"\{[^{}]*\}")


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > VALUE_LIMIT:
        raise SecurityError(f"refused: a width of {width} (limit {VALUE_LIMIT})")


def _check_format(pattern: Any) -> None:
    if not isinstance(pattern, str):
        return
    for match in _WIDTH.finditer(pattern):
        for number in match.groups():
            if number and int(number) > VALUE_LIMIT:
                raise SecurityError(f"refused: a format width of {number} (limit {VALUE_LIMIT})")


class _Sandbox:
    """One sandbox per render process, with its compiled templates."""

    def __init__(self) -> None:
        self.env = LimitedSandbox(
            undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        self._cache: dict[str, jinja2.Template] = {}

    def compiled(self, source: str) -> jinja2.Template:
        # A notice to a thousand people renders the same few templates a thousand times.
        template = self._cache.get(source)
        if template is None:
            template = self.env.from_string(source)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[source] = template
        return template

    def render(self, source: str, context: dict[str, Any], where: str) -> str:
        try:
            parts: list[str] = []
            size = 0
            for chunk in self.compiled(source).generate(context):
                size += len(chunk)
                if size > OUTPUT_LIMIT:
                    raise TemplateError(f"{where}: output over {OUTPUT_LIMIT} characters: stopped")
                parts.append(chunk)
            return "".join(parts).strip()
        except TemplateError:
            raise
        except SecurityError as err:
            raise TemplateError(f"{where}: refused by the sandbox: {err}") from None
        except jinja2.UndefinedError as err:
            raise TemplateError(f"{where}: undefined variable: {err.message}") from None
        except jinja2.TemplateSyntaxError as err:
            raise TemplateError(f"{where} line {err.lineno}: {err.message}") from None
        except TEMPLATE_BUGS as err:  # an admin's broken template is permanent, never retried
            raise TemplateError(f"{where}: {type(err).__name__}: {str(err)[:500]}") from None
        except MemoryError:
            raise TemplateError(f"{where}: over the memory limit of a render") from None
        except RecursionError:
            raise TemplateError(f"{where}: nested too deeply") from None

    def check(self, source: str, where: str) -> None:
        try:
            self.env.parse(source)
        except jinja2.TemplateSyntaxError as err:
            raise TemplateError(f"{where} line {err.lineno}: {err.message}") from None
        except MemoryError:
            raise TemplateError(f"{where}: over the memory limit of a syntax check") from None
        except RecursionError:
            raise TemplateError(f"{where}: nested too deeply") from None


_SANDBOX: _Sandbox | None = None


def _sandbox() -> _Sandbox:
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = _Sandbox()
    return _SANDBOX


# What runs in the render processes (module level: sent by reference).


def _render_fields(
    name: str, locale: str, fields: tuple[str, str, str | None], context: dict[str, Any]
) -> Notice:
    subject, body, short = fields
    sandbox = _sandbox()
    where = f"template {name!r} ({locale})"
    title = " ".join(sandbox.render(subject, context, f"{where} subject").split())
    text = sandbox.render(body, context, f"{where} body")
    if short:
        short_text = sandbox.render(short, context, f"{where} short")
        if len(short_text) > SHORT_LIMIT:
            raise TemplateError(
                f"{where} short: renders to {len(short_text)} characters, over the limit of "
                f"{SHORT_LIMIT}: refused rather than cut"
            )
    else:
        short_text = f"*{title}*\n{text}"
    return Notice(title=title, body=text, short=short_text)


def _render_texts(sources: tuple[str, ...], context: dict[str, Any], where: str) -> tuple[str, ...]:
    sandbox = _sandbox()
    return tuple(
        " ".join(sandbox.render(source, context, f"{where} {i}").split())
        for i, source in enumerate(sources, 1)
    )


def _check_source(source: str, where: str) -> None:
    _sandbox().check(source, where)


def _limit_memory(limit: int) -> None:
    """Render-process initializer: cap the address space, so a huge value fails there."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


# ---------------------------------------------------------------- the pool


class PoolNotRunning(RuntimeError):
    """The pool refused a task: it was stopped or broke."""


class RenderPool:
    """Worker processes that can be killed: a render past ``timeout`` seconds loses its
    process, which the pool replaces. Started on first use, in ``forkserver`` processes
    (forking a threaded asyncio worker is unsafe), with the memory cap applied."""

    def __init__(
        self,
        workers: int = POOL_WORKERS,
        timeout: float = RENDER_SECONDS,
        memory_limit: int | None = MEMORY_LIMIT,
    ) -> None:
        self.workers, self.timeout, self.memory_limit = workers, timeout, memory_limit
        self._pool: Any = None
        self._lock = threading.Lock()

    def _started(self) -> Any:
        with self._lock:
            if self._pool is None:
                from pebble import ProcessPool

                methods = multiprocessing.get_all_start_methods()
                method = "forkserver" if "forkserver" in methods else "spawn"
                self._pool = ProcessPool(
                    max_workers=self.workers,
                    initializer=_limit_memory if self.memory_limit else None,
                    initargs=(self.memory_limit,) if self.memory_limit else (),
                    context=multiprocessing.get_context(method),
                )
            return self._pool

    def run(self, function: Callable[..., T], *args: Any, what: str = "render") -> T:
        """``function(*args)`` in a render process; a :class:`TemplateError` when it took
        too long (its process is killed) or its process died (memory cap). A pool that broke
        (its processes could not be started) is started afresh once, then reported as
        transient: that is the machine's problem, not the template's."""
        for fresh in (False, True):
            try:
                return self._run_once(function, args, what)
            except (BrokenProcessPool, PoolNotRunning) as err:
                self.shutdown()
                if fresh:
                    # Imported here: render processes import this module, and stay light.
                    from herald.channels.base import TransientSendError

                    raise TransientSendError(
                        f"{what}: render processes unavailable: {type(err).__name__}: {err}"
                    ) from None
        raise AssertionError("unreachable")

    def _run_once(self, function: Callable[..., T], args: tuple[Any, ...], what: str) -> T:
        from pebble import ProcessExpired

        try:
            future = self._started().schedule(function, args=args, timeout=self.timeout)
        except RuntimeError as err:  # pebble: "The Pool is not active"
            raise PoolNotRunning(str(err)) from None
        try:
            return future.result()
        except concurrent.futures.TimeoutError:
            raise TemplateError(
                f"{what}: still running after {self.timeout:g} s: stopped"
            ) from None
        except ProcessExpired as err:
            raise TemplateError(
                f"{what}: its process ended abnormally (exit code {err.exitcode}), "
                "probably over the memory limit"
            ) from None

    def shutdown(self) -> None:
        """Stop the processes (a render still running is killed); the next use restarts."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=30)


_POOL: RenderPool | None = None
_POOL_LOCK = threading.Lock()


def render_pool() -> RenderPool:
    """The process's shared pool, created on first use and stopped at exit."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = RenderPool()
            atexit.register(shutdown_render_pool)
        return _POOL


def shutdown_render_pool() -> None:
    """Stop the shared pool's processes (the worker and the CLI call it before exiting)."""
    with _POOL_LOCK:
        pool = _POOL
    if pool is not None:
        pool.shutdown()


# ---------------------------------------------------------------- the renderer


def check_size(source: str, where: str) -> None:
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > TEMPLATE_LIMIT:
        raise TemplateError(f"{where}: {size} bytes, over the limit of {TEMPLATE_LIMIT}")


class AdminTemplateRenderer:
    def __init__(self, pool: RenderPool | None = None) -> None:
        self._pool = pool

    @property
    def pool(self) -> RenderPool:
        return self._pool or render_pool()

    def check(self, source: str, where: str) -> None:
        """Refuse a template too large (before parsing it) or that does not even parse
        (used when admins save one)."""
        check_size(source, where)
        self.pool.run(_check_source, source, where, what=f"{where}: syntax check")

    def check_short(self, source: str | None, where: str) -> None:
        if source and len(source) > SHORT_LIMIT:
            raise TemplateError(
                f"{where}: {len(source)} characters, over the limit of {SHORT_LIMIT} "
                "for a short text: refused rather than cut"
            )

    def render_texts(
        self, sources: tuple[str, ...], context: dict[str, Any], where: str
    ) -> tuple[str, ...]:
        """Short texts (a WhatsApp template's parameters), each on one line, in the sandbox."""
        for i, source in enumerate(sources, 1):
            check_size(source, f"{where} {i}")
        return self.pool.run(_render_texts, sources, context, where, what=f"{where}: render")

    def render(self, name: str, template: TemplateText | None, context: dict[str, Any]) -> Notice:
        if template is None:
            return fallback_notice(name, context)
        where = f"template {name!r} ({template.locale})"
        for part, text in (("subject", template.subject), ("body", template.body)):
            check_size(text, f"{where} {part}")
        if template.short:
            check_size(template.short, f"{where} short")
        return self.pool.run(
            _render_fields,
            name,
            template.locale,
            (template.subject, template.body, template.short),
            context,
            what=f"{where}: render",
        )


def fallback_notice(name: str, context: dict[str, Any]) -> Notice:
    """What goes out when a template is missing: its name as the title, the facts as lines."""
    title = name.replace("_", " ").replace(".", " ").strip().capitalize() or "Notification"
    facts = [
        f"{key}: {value}"
        for key, value in context.items()
        if key not in ("recipient", "brand") and isinstance(value, str | int | float | bool)
    ]
    body = "\n".join(facts) if facts else title
    return Notice(title=title, body=body, short=f"*{title}*\n{body}")
