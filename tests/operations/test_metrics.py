"""``/metrics``: Herald's figures read from the database (so every process sees what all
of them wrote), on SQLite and PostgreSQL; and who may read them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.db import Delivery, DeliveryEvent, WebhookAttempt, WebhookEndpoint, WebhookEvent
from herald.metrics import HeraldCollector, read_figures
from herald.store import Store
from tests.api.conftest import bare_herald, serving
from tests.conftest import BACKENDS, migrated_store

TABLES = (
    "deliveries",
    "delivery_events",
    "webhook_events",
    "webhook_attempts",
    "webhook_endpoints",
)
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=3)  # outside the default one-day window


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request, tmp_path, tables=TABLES) as s:
        yield s


def delivery(
    n: int,
    channel: str,
    status: str,
    provider: str | None,
    late: float | None,
    *,
    created: datetime = NOW,
) -> Delivery:
    scheduled = created - timedelta(hours=3)
    return Delivery(
        idempotency_key=f"k{n}",
        workflow_id="loan-L1",
        notification_id=f"n{n}",
        subject_type="loan",
        subject_id="L1",
        kind="loan.reminder_j1",
        role="borrower",
        channel=channel,
        subscriber_id="ana",
        provider=provider,
        status=status,
        attempts=1,
        scheduled_at=scheduled,
        sent_at=scheduled + timedelta(seconds=late) if late is not None else None,
        created_at=created,
    )


def fill(store: Store) -> None:
    """What a worker and the providers' webhooks would have written."""
    with store.session() as s, s.begin():
        s.add_all(
            [
                delivery(1, "email", "sent", "smtp", 0.5),
                delivery(2, "email", "sent", "smtp", 10),
                delivery(3, "sms", "delivered", "twilio", 100),
                delivery(4, "email", "sent", "smtp", 7200),
                # Sent a moment before its planned time (another clock): lateness 0.
                delivery(5, "email", "read", "ses", -2),
                delivery(6, "in_app", "skipped", None, None),
                delivery(7, "email", "permanently_failed", "smtp", None),
                delivery(8, "email", "sent", "smtp", 1, created=OLD),
            ]
        )
        for i, (provider, state, at) in enumerate(
            [
                ("ses", "bounced", NOW),
                ("ses", "bounced", NOW),
                ("twilio", None, NOW),
                ("ses", "read", OLD),
            ]
        ):
            s.add(
                DeliveryEvent(
                    provider=provider,
                    event_key=f"e{i}",
                    provider_message_id=f"m{i}",
                    state=state,
                    provider_status="x",
                    occurred_at=at,
                    received_at=at,
                )
            )
        for i, (type_, dispatched, at) in enumerate(
            [
                ("delivery.sent", True, NOW),
                ("delivery.sent", False, NOW),
                ("loan.overdue", True, OLD),
            ]
        ):
            s.add(
                WebhookEvent(
                    id=f"evt_{i}",
                    type=type_,
                    payload={},
                    created_at=at,
                    dispatched_at=at if dispatched else None,
                )
            )
        for i, (ok, at) in enumerate([(True, NOW), (True, NOW), (False, NOW), (False, OLD)]):
            s.add(
                WebhookAttempt(
                    event_id="evt_0", endpoint_id="ep_1", attempt=i + 1, at=at, succeeded=ok
                )
            )
        s.add_all(
            [
                WebhookEndpoint(id="ep_1", url="https://a.example/h", events=["*"], secret="s"),
                WebhookEndpoint(
                    id="ep_2", url="https://b.example/h", events=["*"], secret="s", enabled=False
                ),
            ]
        )


def test_the_figures_are_grouped_counts_of_the_window(store: Store) -> None:
    fill(store)
    figures = read_figures(store, NOW - timedelta(days=1))
    assert sorted(figures.deliveries) == [
        ("email", "permanently_failed", "smtp", 1),
        ("email", "read", "ses", 1),
        ("email", "sent", "smtp", 3),
        ("in_app", "skipped", "none", 1),
        ("sms", "delivered", "twilio", 1),
    ]
    # Five sent in the window: 0.5 s, 10 s, 100 s, 2 h and one early (counted as on time).
    assert figures.lateness_count == 5
    assert figures.lateness_sum == pytest.approx(0.5 + 10 + 100 + 7200, abs=0.01)
    buckets = dict(
        zip(
            (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 14400, 86400),
            figures.lateness_buckets,
            strict=True,
        )
    )
    assert (buckets[1], buckets[5], buckets[15], buckets[60], buckets[120]) == (2, 2, 3, 3, 4)
    assert (buckets[3600], buckets[14400], buckets[86400]) == (4, 5, 5)
    assert sorted(figures.provider_events) == [("ses", "bounced", 2), ("twilio", "none", 1)]
    assert figures.webhook_events == [("delivery.sent", 2, 1)]
    assert sorted(figures.webhook_attempts) == [("ep_1", "failed", 1), ("ep_1", "succeeded", 2)]
    assert sorted(figures.webhook_endpoints) == [("disabled", 1), ("enabled", 1)]


def test_one_reading_serves_the_scrapes_of_its_age(store: Store) -> None:
    clock = [0.0]
    collector = HeraldCollector(
        store, window=timedelta(days=1), max_age=timedelta(seconds=15), clock=lambda: clock[0]
    )
    assert collector.figures().deliveries == []  # type: ignore[union-attr]
    fill(store)
    clock[0] = 14.0
    assert collector.figures().deliveries == []  # type: ignore[union-attr]
    clock[0] = 15.0
    assert len(collector.figures().deliveries) == 5  # type: ignore[union-attr]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_need_an_ops_key_or_the_metrics_token(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path, metrics_token=SecretStr("scrape-me"))
    fill(herald.store)
    keys = ApiKeys(herald.store)
    ops_key, app_key = keys.create("ops", "ops").key, keys.create("shop", "app").key
    try:
        async with serving(create_app(herald)) as url:
            import httpx

            async def get(path: str, token: str | None) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                    return await http.get(path, headers=headers)

            assert (await get("/metrics", None)).status_code == 401
            assert (await get("/metrics", "wrong")).status_code == 401
            forbidden = await get("/metrics", app_key)
            assert forbidden.status_code == 403 and "needs ops" in forbidden.json()["detail"]
            # The metrics token opens /metrics, and nothing else.
            assert (await get("/v1/ops/health", "scrape-me")).status_code == 401
            assert (await get("/v1/deliveries", "scrape-me")).status_code == 401
            for token in (ops_key, "scrape-me"):
                response = await get("/metrics", token)
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            found = samples(response.text)
    finally:
        herald.close()
    assert found[("herald_metrics_database_up", ())] == 1
    assert found[("herald_metrics_window_seconds", ())] == 86400
    key = ("herald_deliveries", (("channel", "email"), ("provider", "smtp"), ("status", "sent")))
    assert found[key] == 3
    assert found[("herald_delivery_lateness_seconds_bucket", (("le", "+Inf"),))] == 5
    assert found[("herald_delivery_lateness_seconds_bucket", (("le", "15.0"),))] == 3
    assert found[("herald_delivery_lateness_seconds_gcount", ())] == 5
    assert found[("herald_provider_events", (("provider", "ses"), ("state", "bounced")))] == 2
    assert found[("herald_webhook_events_undispatched", (("type", "delivery.sent"),))] == 1
    assert found[("herald_webhook_attempts", (("endpoint", "ep_1"), ("outcome", "failed")))] == 1
    assert found[("herald_webhook_endpoints", (("state", "disabled"),))] == 1
    assert any(name.startswith("process_") for name, _ in found)


async def test_without_any_key_metrics_answer_on_the_loopback_only(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path)
    try:
        async with serving(create_app(herald)) as url:
            import httpx

            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                response = await http.get("/metrics")
        assert response.status_code == 200 and "herald_deliveries" in response.text
        # Beyond the loopback the API does not start without a key at all.
        from herald.api.app import ApiRefused

        with pytest.raises(ApiRefused):
            create_app(herald, host="0.0.0.0")
    finally:
        herald.close()


def test_an_unreadable_database_reads_as_down_not_as_an_error(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    collector = HeraldCollector(store, window=timedelta(days=1), max_age=timedelta(0))
    families = {f.name: f for f in collector.collect()}
    assert families["herald_metrics_database_up"].samples[0].value == 0
    assert "herald_deliveries" not in families
    store.close()
