"""The console's sign-in, session and CSRF protection.

- **Sign-in**: an API key of scope ``ops`` (checked by :class:`herald.api.keys.ApiKeys`)
  or ``HERALD_CONSOLE_PASSWORD``, compared in constant time. After
  :data:`MAX_FAILURES` failures from one address within :data:`LOCKOUT`, that address is
  refused for the rest of the period, even with the right secret.
- **Session**: a cookie holding a signed (itsdangerous), timestamped document with a random
  session id, the CSRF token, who signed in, the language and flash messages; never a
  secret. ``HttpOnly``, ``SameSite=Strict``, ``Path=/console``, ``Secure`` unless the
  console is opened over plain http on the loopback (``HERALD_CONSOLE_SECURE_COOKIE``
  forces it either way). A session lasts ``HERALD_CONSOLE_SESSION_HOURS`` from sign-in;
  signing out ends it in this process at once (its id is refused until it would have
  expired), and a session opened with an API key ends when that key is revoked.
- **Signing key**: ``HERALD_CONSOLE_SECRET``; unset, a random one per process, so sessions
  end when the process restarts and one process's cookie means nothing to another.
- **CSRF**: every form carries the session's token; every POST without the right one is
  refused (403) before anything is done.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from herald.api.keys import ApiKeys
from herald.settings import Settings

COOKIE = "herald_console"
COOKIE_PATH = "/console"
SALT = "herald.console.session"
MAX_FAILURES = 5
LOCKOUT = 15 * 60.0  # seconds
# A cookie bigger than this is not ours (browsers stop near 4 KiB anyway).
MAX_COOKIE = 4096
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass
class Session:
    """One browser's session: anonymous (a CSRF token and a language) until sign-in."""

    sid: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    who: str | None = None  # "password" or "key:<name>"
    key_id: int | None = None
    expires: float = 0.0  # epoch seconds; 0: anonymous
    lang: str | None = None
    # Messages for the next page: {"level": "ok"|"error"|"info", "key": catalogue key,
    # "params": {name: text}}, translated when shown.
    flash: list[dict[str, Any]] = field(default_factory=list)
    changed: bool = False

    @property
    def signed_in(self) -> bool:
        return self.who is not None

    def as_doc(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "csrf": self.csrf,
            "who": self.who,
            "key": self.key_id,
            "exp": self.expires,
            "lang": self.lang,
            "flash": self.flash,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> Session | None:
        if not isinstance(doc, dict):
            return None
        try:
            session = cls(
                sid=str(doc["sid"]),
                csrf=str(doc["csrf"]),
                who=doc.get("who") if isinstance(doc.get("who"), str) else None,
                key_id=doc.get("key") if isinstance(doc.get("key"), int) else None,
                expires=float(doc.get("exp") or 0.0),
                lang=doc.get("lang") if doc.get("lang") in ("en", "fr") else None,
                flash=[f for f in doc.get("flash") or [] if isinstance(f, dict)][:5],
            )
        except (KeyError, TypeError, ValueError):
            return None
        return session

    def add_flash(self, level: str, key: str, **params: object) -> None:
        self.flash.append(
            {"level": level, "key": key, "params": {k: str(v) for k, v in params.items()}}
        )
        self.changed = True

    def take_flash(self) -> list[dict[str, Any]]:
        found, self.flash = self.flash, []
        if found:
            self.changed = True
        return found


class Throttle:
    """Failed sign-ins per client address: after MAX_FAILURES within LOCKOUT, refused until
    the oldest of them is LOCKOUT old (in this process)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        now = self.clock()
        found = self.failures.setdefault(address, deque())
        while found and now - found[0] >= LOCKOUT:
            found.popleft()
        if not found:
            self.failures.pop(address, None)
        return found

    def locked_for(self, address: str) -> float:
        """Seconds this address must still wait (0: it may try)."""
        with self.lock:
            found = self._recent(address)
            if len(found) < MAX_FAILURES:
                return 0.0
            return max(0.0, LOCKOUT - (self.clock() - found[0]))

    def failed(self, address: str) -> None:
        with self.lock:
            self._recent(address)
            self.failures.setdefault(address, deque()).append(self.clock())
            if len(self.failures) > 10_000:  # a flood of addresses: forget the oldest
                self.failures.pop(next(iter(self.failures)))

    def succeeded(self, address: str) -> None:
        with self.lock:
            self.failures.pop(address, None)


class Auth:
    """Signs and reads session cookies, checks secrets and CSRF tokens."""

    def __init__(self, settings: Settings, keys: ApiKeys) -> None:
        self.settings = settings
        self.keys = keys
        configured = settings.console_secret
        self.secret = (
            configured.get_secret_value() if configured is not None else secrets.token_hex(32)
        )
        self.serializer = URLSafeTimedSerializer(self.secret, salt=SALT)
        self.lifetime = settings.console_session_hours * 3600
        self.throttle = Throttle()
        self.ended: dict[str, float] = {}  # signed-out session ids → their expiry
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ cookies

    def read(self, cookie: str | None) -> Session:
        """The session the cookie carries, or a new anonymous one (a cookie unsigned,
        tampered with, expired, signed out, or of a revoked key is no session)."""
        if not cookie or len(cookie) > MAX_COOKIE:
            return Session(changed=True)
        try:
            doc = self.serializer.loads(cookie, max_age=int(self.lifetime))
        except BadSignature:
            return Session(changed=True)
        session = Session.from_doc(doc)
        if session is None:
            return Session(changed=True)
        if session.signed_in and not self._still_valid(session):
            fresh = Session(lang=session.lang, changed=True)
            fresh.add_flash("info", "login.expired")
            return fresh
        return session

    def _still_valid(self, session: Session) -> bool:
        if session.expires <= time.time():
            return False
        with self.lock:
            if session.sid in self.ended:
                return False
        if session.key_id is not None:
            active = {k.id for k in self.keys.list() if k.revoked_at is None and k.scope == "ops"}
            return session.key_id in active
        # A password session ends when the password is unset.
        return self.settings.console_password is not None

    def dump(self, session: Session) -> str:
        return self.serializer.dumps(session.as_doc())

    def secure(self, scheme: str, host: str | None) -> bool:
        """Whether the cookie needs ``Secure``: always but over http on the loopback."""
        forced = self.settings.console_secure_cookie
        if forced is not None:
            return forced
        return not (scheme == "http" and (host or "").lower() in LOOPBACK_HOSTS)

    # ------------------------------------------------------------------ sign-in

    def can_sign_in(self) -> bool:
        """Whether any way in exists: a password, or an active ops key."""
        if self.settings.console_password is not None:
            return True
        return any(k.revoked_at is None and k.scope == "ops" for k in self.keys.list())

    def check_secret(self, secret: str) -> tuple[str, int | None] | str:
        """``(who, key id)`` for the password or an ops key; else the catalogue key of the
        refusal (``login.refused``, ``login.app_key``)."""
        password = self.settings.console_password
        if password is not None and hmac.compare_digest(
            secret.encode("utf-8", "surrogateescape"),
            password.get_secret_value().encode("utf-8", "surrogateescape"),
        ):
            return "password", None
        if secret.startswith("hrld_") and len(secret) <= 200:
            info = self.keys.authenticate(secret)
            if info is not None:
                if info.scope != "ops":
                    return "login.app_key"
                return f"key:{info.name}", info.id
        return "login.refused"

    def signed_in(self, previous: Session, who: str, key_id: int | None) -> Session:
        """A new session (new id and CSRF token: none from before sign-in survives)."""
        return Session(
            who=who,
            key_id=key_id,
            expires=time.time() + self.lifetime,
            lang=previous.lang,
            changed=True,
        )

    def sign_out(self, session: Session) -> Session:
        with self.lock:
            now = time.time()
            for sid in [s for s, until in self.ended.items() if until <= now]:
                del self.ended[sid]
            self.ended[session.sid] = session.expires
        fresh = Session(lang=session.lang, changed=True)
        fresh.add_flash("info", "login.signed_out")
        return fresh

    @staticmethod
    def csrf_ok(session: Session, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), session.csrf.encode()
        )
