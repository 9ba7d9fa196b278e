"""How the relay reaches Herald: over its HTTP API (``HERALD["API_URL"]``) or directly,
through Temporal and Herald's database (``HERALD["SETTINGS"]``). Either way the relay calls
Herald's operations by name, with the arguments stored in the outbox."""

from __future__ import annotations

import inspect
import threading
from typing import Any, Protocol

from herald.errors import HeraldError, Unavailable

from .conf import HeraldConfig, herald_config


class Transport(Protocol):
    def call(self, method: str, arguments: dict[str, Any], *, idempotency_key: str) -> Any:
        """Run one Herald operation with these keyword arguments."""

    def close(self) -> None: ...


class SyncTransport:
    """Over :class:`starter.sync.SyncHerald`, opened on the first call (building one touches
    no network) and opened again after it could not be."""

    def __init__(self, config: HeraldConfig) -> None:
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def over_http(self) -> bool:
        return self.config.mode == "http"

    def _herald(self) -> Any:
        with self._lock:
            if self._client is None:
                from starter.sync import SyncHerald

                timeout = self.config.timeout_seconds
                if self.over_http:
                    if not self.config.api_url:
                        raise HeraldError('HERALD["API_URL"] is needed in "http" mode')
                    self._client = SyncHerald.over_http(
                        self.config.api_url, self.config.api_key, timeout=timeout
                    )
                else:
                    from herald.settings import Settings

                    fields = {str(k).lower(): v for k, v in self.config.settings.items()}
                    try:
                        self._client = SyncHerald(Settings(**fields), timeout=timeout)
                    except HeraldError:
                        raise
                    except Exception as err:  # the database cannot be opened yet
                        raise Unavailable(f"cannot open Herald: {err}") from None
            return self._client

    def call(self, method: str, arguments: dict[str, Any], *, idempotency_key: str) -> Any:
        herald = self._herald()
        if self.over_http and _takes(herald, method, "idempotency_key"):
            # The API keeps the first answer to a key for a day: a delivery repeated after
            # a crash does nothing twice, whatever the operation.
            return herald.call(method, **arguments, idempotency_key=idempotency_key)
        return herald.call(method, **arguments)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _takes(herald: Any, method: str, name: str) -> bool:
    target = getattr(herald.target, method)
    return name in inspect.signature(target).parameters


def transport_from_settings(config: HeraldConfig | None = None) -> Transport:
    return SyncTransport(config or herald_config())
