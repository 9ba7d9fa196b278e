"""Herald's ops console: server-rendered pages under ``/console`` (Jinja2, plain forms, one
stylesheet, no script) behind a sign-in with an ops API key or ``HERALD_CONSOLE_PASSWORD``.

Every page calls the service layer (:class:`herald.service.Herald`) and holds no rule of
its own; pages are registered one module each (:mod:`herald.console.pages`); every string
is in :mod:`herald.console.i18n`, in English and French.
"""

from herald.console.app import build_console

__all__ = ["build_console"]
