"""Herald's figures for Prometheus (``GET /metrics``), read from the database.

The worker writes the deliveries and the webhook attempts, the API process receives the
providers' events, and any of them may run as several processes: counters kept in one
process's memory would each see a part. So every figure here is read from the tables,
where all processes write: a custom collector runs a few grouped, bounded queries (each
over the last ``HERALD_METRICS_WINDOW``, through an index on its time column) at most once
every ``HERALD_METRICS_CACHE``, however often and by however many scrapers it is read.

Being counts of what the tables hold now over a sliding window, they are gauges (and a
gauge histogram), not counters: read them as they are (``herald_deliveries{status=
"permanently_failed"} > 0``, ``histogram_quantile(0.99, herald_delivery_lateness_seconds_bucket)``),
without ``rate()``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from herald.db import Delivery, DeliveryEvent, WebhookAttempt, WebhookEndpoint, WebhookEvent
from herald.settings import Settings
from herald.store import Store

log = logging.getLogger("herald.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Upper bounds, in seconds, of the lateness histogram's buckets: a second to a day.
LATENESS_BUCKETS: tuple[float, ...] = (
    1,
    5,
    15,
    30,
    60,
    120,
    300,
    900,
    1800,
    3600,
    4 * 3600,
    24 * 3600,
)
NONE = "none"  # the label value of a missing provider or state


class seconds_between(FunctionElement[float]):
    """``a - b`` in seconds (fractions kept), on PostgreSQL and SQLite alike."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_epoch(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(a, **kw)} - {compiler.process(b, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return (
        f"((julianday({compiler.process(a, **kw)}) - julianday({compiler.process(b, **kw)}))"
        " * 86400.0)"
    )


@dataclass
class Figures:
    """What the tables say over one window."""

    deliveries: list[tuple[str, str, str, int]] = field(default_factory=list)
    # Cumulative counts per bucket of LATENESS_BUCKETS, then the count and sum of all.
    lateness_buckets: list[int] = field(default_factory=list)
    lateness_count: int = 0
    lateness_sum: float = 0.0
    provider_events: list[tuple[str, str, int]] = field(default_factory=list)
    webhook_events: list[tuple[str, int, int]] = field(default_factory=list)
    webhook_attempts: list[tuple[str, str, int]] = field(default_factory=list)
    webhook_endpoints: list[tuple[str, int]] = field(default_factory=list)


def read_figures(store: Store, since: datetime) -> Figures:
    """The grouped counts of every figure since ``since``: a handful of rows each."""
    figures = Figures()
    lateness = seconds_between(Delivery.sent_at, Delivery.scheduled_at)
    with store.session() as s:
        figures.deliveries = [
            (channel, status, provider or NONE, int(n))
            for channel, status, provider, n in s.execute(
                select(Delivery.channel, Delivery.status, Delivery.provider, func.count())
                .where(Delivery.created_at >= since)
                .group_by(Delivery.channel, Delivery.status, Delivery.provider)
            )
        ]
        sent = (
            Delivery.created_at >= since,
            Delivery.sent_at.is_not(None),
            Delivery.scheduled_at.is_not(None),
        )
        row = s.execute(
            select(
                func.count(),
                func.sum(case((lateness < 0, 0.0), else_=lateness)),
                *(func.sum(case((lateness <= bound, 1), else_=0)) for bound in LATENESS_BUCKETS),
            ).where(*sent)
        ).one()
        figures.lateness_count = int(row[0] or 0)
        figures.lateness_sum = float(row[1] or 0.0)
        figures.lateness_buckets = [int(n or 0) for n in row[2:]]
        figures.provider_events = [
            (provider, state or NONE, int(n))
            for provider, state, n in s.execute(
                select(DeliveryEvent.provider, DeliveryEvent.state, func.count())
                .where(DeliveryEvent.received_at >= since)
                .group_by(DeliveryEvent.provider, DeliveryEvent.state)
            )
        ]
        figures.webhook_events = [
            (type_, int(n), int(waiting or 0))
            for type_, n, waiting in s.execute(
                select(
                    WebhookEvent.type,
                    func.count(),
                    func.sum(case((WebhookEvent.dispatched_at.is_(None), 1), else_=0)),
                )
                .where(WebhookEvent.created_at >= since)
                .group_by(WebhookEvent.type)
            )
        ]
        figures.webhook_attempts = [
            (endpoint, "succeeded" if ok else "failed", int(n))
            for endpoint, ok, n in s.execute(
                select(WebhookAttempt.endpoint_id, WebhookAttempt.succeeded, func.count())
                .where(WebhookAttempt.at >= since)
                .group_by(WebhookAttempt.endpoint_id, WebhookAttempt.succeeded)
            )
        ]
        figures.webhook_endpoints = [
            ("enabled" if enabled else "disabled", int(n))
            for enabled, n in s.execute(
                select(WebhookEndpoint.enabled, func.count()).group_by(WebhookEndpoint.enabled)
            )
        ]
    return figures


class HeraldCollector(Collector):
    """Herald's figures, read from the database at most once per ``max_age``."""

    def __init__(
        self,
        store: Store,
        *,
        window: timedelta,
        max_age: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.window = window
        self.max_age = max_age.total_seconds()
        self.clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._figures: Figures | None = None

    def figures(self) -> Figures | None:
        """The cached figures, read again when older than ``max_age``; None when the
        database cannot be read (then the next scrape tries again)."""
        with self._lock:
            now = self.clock()
            if self._read_at is not None and now - self._read_at < self.max_age:
                return self._figures
            try:
                figures: Figures | None = read_figures(self.store, datetime.now(UTC) - self.window)
            except Exception as err:  # noqa: BLE001 - reported as herald_metrics_database_up 0
                log.warning("metrics: cannot read the database: %s", type(err).__name__)
                self._read_at = None
                return None
            self._figures, self._read_at = figures, now
            return figures

    def collect(self) -> Iterable[Metric]:
        figures = self.figures()
        yield GaugeMetricFamily(
            "herald_metrics_database_up",
            "1 when the figures below could be read from Herald's database, else 0",
            value=0 if figures is None else 1,
        )
        yield GaugeMetricFamily(
            "herald_metrics_window_seconds",
            "The window every herald_* figure covers (HERALD_METRICS_WINDOW)",
            value=self.window.total_seconds(),
        )
        if figures is None:
            return
        deliveries = GaugeMetricFamily(
            "herald_deliveries",
            "Delivery-log rows created within the window, by channel, current status and "
            "provider (none: not handed to one)",
            labels=["channel", "status", "provider"],
        )
        for channel, status, provider, n in figures.deliveries:
            deliveries.add_metric([channel, status, provider], n)
        yield deliveries
        yield GaugeHistogramMetricFamily(
            "herald_delivery_lateness_seconds",
            "Sent minus scheduled, of the deliveries created within the window and sent "
            "(a notice held for quiet hours or a digest counts its wait)",
            buckets=[
                *(
                    (floatToGoString(b), n)
                    for b, n in zip(LATENESS_BUCKETS, figures.lateness_buckets, strict=True)
                ),
                ("+Inf", figures.lateness_count),
            ],
            gsum_value=figures.lateness_sum,
        )
        events = GaugeMetricFamily(
            "herald_provider_events",
            "Providers' reports (receipts, bounces, STOP…) received within the window, by "
            "provider and the state they mean (none: informational)",
            labels=["provider", "state"],
        )
        for provider, state, n in figures.provider_events:
            events.add_metric([provider, state], n)
        yield events
        outbound = GaugeMetricFamily(
            "herald_webhook_events",
            "Events for the application's webhooks recorded within the window, by type",
            labels=["type"],
        )
        waiting = GaugeMetricFamily(
            "herald_webhook_events_undispatched",
            "Of those, the events not yet handed to Temporal for delivery",
            labels=["type"],
        )
        for type_, n, undispatched in figures.webhook_events:
            outbound.add_metric([type_], n)
            waiting.add_metric([type_], undispatched)
        yield outbound
        yield waiting
        attempts = GaugeMetricFamily(
            "herald_webhook_attempts",
            "POSTs to the application's webhook endpoints within the window, by endpoint "
            "and outcome (succeeded: a 2xx answer)",
            labels=["endpoint", "outcome"],
        )
        for endpoint, outcome, n in figures.webhook_attempts:
            attempts.add_metric([endpoint, outcome], n)
        yield attempts
        endpoints = GaugeMetricFamily(
            "herald_webhook_endpoints",
            "The application's webhook endpoints, enabled or disabled",
            labels=["state"],
        )
        for state, n in figures.webhook_endpoints:
            endpoints.add_metric([state], n)
        yield endpoints


def metrics_registry(store: Store, settings: Settings) -> CollectorRegistry:
    """The registry ``/metrics`` serves: Herald's figures and this process's own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        HeraldCollector(store, window=settings.metrics_window, max_age=settings.metrics_cache)
    )
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format (reads the database: call off the loop)."""
    return generate_latest(registry)
