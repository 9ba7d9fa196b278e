"""An aiosmtpd server that accepts everything and records when each message arrived."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Arrival:
    at: float  # time.time() when DATA was accepted
    to: str
    subject: str
    size: int


@dataclass
class _Handler:
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        raw: bytes = envelope.original_content or b""
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        arrival = Arrival(now, str(envelope.rcpt_tos[0]), str(headers["Subject"] or ""), len(raw))
        with self.lock:
            self.arrivals.append(arrival)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def count(self) -> int:
        with self.handler.lock:
            return len(self.handler.arrivals)

    def snapshot(self) -> list[Arrival]:
        with self.handler.lock:
            return list(self.handler.arrivals)

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.arrivals.clear()
