"""Staff alerts on the time-skipping server: groups fanned out in batches with small histories,
members without an address skipped with the reason, permanent failures reported once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert
from temporalio.testing import WorkflowEnvironment

from herald.db import Preferences, Subscriber, utcnow
from herald.errors import InvalidInput
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk, record_history

# Temporal suggests continue-as-new at 4,096 events; we want to stay far below it.
SUGGESTED_LIMIT = 4096


@pytest.fixture
async def staff(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        whatsapp_provider="outbox",
        outbox_dir=tmp_path / "outbox",
    ) as desk:
        h = desk.herald
        await h.set_template(
            "new_order",
            locale="fr",
            subject="Nouvelle commande {{ order_id }}",
            body="Bonjour {{ recipient.name }}, commande {{ order_id }} de {{ customer }}.",
            short="🛒 *Commande {{ order_id }}* — {{ customer }}",
        )
        yield desk


def add_people(desk: Desk, count: int, prefix: str, **fields: str) -> list[str]:
    """Many people at once, straight into the tables (the client validates one by one)."""
    ids = [f"{prefix}{i:05d}" for i in range(count)]
    now = utcnow()
    with desk.store.engine.begin() as conn:
        conn.execute(
            insert(Subscriber),
            [
                {
                    "id": i,
                    "name": i,
                    "locale": "fr",
                    "timezone": "Europe/Paris",
                    "created_at": now,
                    "updated_at": now,
                    **fields,
                }
                for i in ids
            ],
        )
        conn.execute(
            insert(Preferences), [{"subscriber_id": i, "kinds": {}, "updated_at": now} for i in ids]
        )
    return ids


async def history_length(desk: Desk, workflow_id: str) -> int:
    history = await desk.herald.client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def test_a_group_of_two_thousand_fans_out_in_batches_with_small_histories(
    staff: Desk,
) -> None:
    h = staff.herald
    members = add_people(staff, 2000, "m")
    await h.create_group("sales", "Sales team")
    await h.add_to_group("sales", members)
    await h.create_group("night-shift")
    await h.add_to_group("night-shift", members[:10])  # in both groups: notified once
    request_id, result = await h.notify(
        "new_order",
        group_names=["sales", "night-shift"],
        context={"order_id": "C-42", "customer": "Acme"},
        priority="low",  # in-app only: the inbox of every member
        request_id="order-42",
        wait=True,
    )
    assert result is not None
    assert result.recipients == 2000 and result.batches == 40  # batches of 50 by default
    assert result.totals["sent"] == 2000
    assert result.totals["skipped"] == 3 * 2000  # e-mail, SMS, WhatsApp: not used for low priority
    parent = await history_length(staff, f"notify-{request_id}")
    children = [await history_length(staff, f"notify-{request_id}-batch-{n}") for n in range(1, 41)]
    print(f"\nfan-out of 2000: parent {parent} events, largest batch {max(children)} events")
    assert parent < SUGGESTED_LIMIT // 8
    assert max(children) < SUGGESTED_LIMIT // 6
    inbox = await h.inbox(members[1234])
    assert inbox[0]["title"] == "Nouvelle commande C-42" and "Acme" in inbox[0]["body"]
    assert await h.unread_count(members[3]) == 1  # one notice, though in two groups


async def test_member_without_whatsapp_is_skipped_with_the_reason(
    staff: Desk, tmp_path: Path
) -> None:
    h = staff.herald
    await h.upsert_subscriber("ana", name="Ana", whatsapp="+263771234567")
    await h.upsert_subscriber("ben", name="Ben", email="ben@example.org")
    await h.create_group("technical")
    await h.add_to_group("technical", ["ana", "ben"])
    _, result = await h.notify(
        "new_order",
        group_names=["technical"],
        context={"order_id": "C-7", "customer": "Zed"},
        channels=["whatsapp"],
        priority="high",
        request_id="wa-1",
        wait=True,
    )
    # Ana by WhatsApp; Ben, reachable by nothing asked for, in his in-app inbox.
    assert result is not None and result.totals["sent"] == 2
    rows = {(r.subscriber_id, r.channel): r for r in staff.store.list_deliveries(subject_id="wa-1")}
    assert rows[("ana", "whatsapp")].status == "sent"
    assert rows[("ben", "whatsapp")].status == "skipped"
    assert rows[("ben", "whatsapp")].error == "no WhatsApp number"
    assert rows[("ben", "in_app")].note == "reached no other channel: kept in the inbox"
    await record_history(staff, "notify-wa-1", "staff_notify")
    await record_history(staff, "notify-wa-1-batch-1", "staff_batch")
    [text] = [p.read_text() for p in (tmp_path / "outbox").glob("*-whatsapp-*.txt")]
    assert "🛒 *Commande C-7* — Zed" in text


async def test_a_permanent_failure_alerts_technical_admins_once_and_never_loops(
    staff: Desk,
) -> None:
    h = staff.herald
    await h.upsert_subscriber("carl", name="Carl", email="carl@example.org")
    await h.upsert_subscriber("admin1", name="Admin", email="admin@example.org")
    await h.create_group("technical-admins")
    await h.add_to_group("technical-admins", ["admin1"])
    staff.smtp.handler.refuse("carl@example.org", "550 5.1.1 No such user")
    # The admin's own mailbox refuses too: the alert fails, and nothing alerts about it.
    staff.smtp.handler.refuse("admin@example.org", "550 5.1.1 No such user")
    _, result = await h.notify(
        "new_order",
        user_ids=["carl"],
        context={"order_id": "C-9", "customer": "Y"},
        priority="medium",
        request_id="fail-1",
        wait=True,
    )
    assert result is not None and result.totals["permanently_failed"] >= 1
    rows = staff.store.list_deliveries(subject_id="fail-1")
    failed = [r for r in rows if r.kind == "staff.notice" and r.status == "permanently_failed"]
    alerts = [r for r in rows if r.kind == "system.delivery_failed"]
    assert len(failed) == 1 and "550 5.1.1" in (failed[0].error or "")
    assert {(a.subscriber_id, a.channel) for a in alerts} >= {("admin1", "email")}
    assert all(a.notification_id.startswith(f"failed:{failed[0].idempotency_key}") for a in alerts)
    assert staff.smtp.handler.rcpt_attempts["admin@example.org"] == 1  # tried once, no loop
    # The admin's inbox got the alert with the provider's reason, not a placeholder.
    [alert] = await h.inbox("admin1")
    assert alert["kind"] == "system.delivery_failed"
    assert "550 5.1.1 No such user" in alert["body"] and "Carl" in alert["body"]


async def test_notify_validation_at_the_edge(staff: Desk) -> None:
    h = staff.herald
    with pytest.raises(InvalidInput, match="at least one user or group"):
        await h.notify("new_order")
    with pytest.raises(InvalidInput, match="unknown group"):
        await h.notify("new_order", group_names=["nobody"])
    with pytest.raises(InvalidInput, match="unknown subscriber"):
        await h.notify("new_order", user_ids=["ghost"])
    await h.upsert_subscriber("dan", email="dan@example.org")
    with pytest.raises(InvalidInput, match="unknown priority"):
        await h.notify("new_order", user_ids=["dan"], priority="whenever")
    with pytest.raises(InvalidInput, match="invalid link"):
        await h.notify("new_order", user_ids=["dan"], link="javascript:alert(1)")
    with pytest.raises(InvalidInput, match="line 1"):
        await h.set_template("broken", locale="fr", subject="{{ oops", body="x")


async def test_a_looping_admin_template_fails_for_good_in_one_attempt(staff: Desk) -> None:
    """The render is killed after its wall limit; the delivery is ``permanently_failed`` with
    that reason at the first attempt, instead of timing out and being retried for hours."""
    h = staff.herald
    await h.upsert_subscriber("dan", name="Dan", email="dan@example.org")
    await h.set_template(
        "looping",
        locale="fr",
        subject="Boucle",
        body="{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    )
    _, result = await h.notify(
        "looping", user_ids=["dan"], channels=["email"], request_id="loop-1", wait=True
    )
    assert result is not None and result.totals["permanently_failed"] == 1
    [row] = [r for r in staff.store.list_deliveries(subject_id="loop-1") if r.channel == "email"]
    assert row.status == "permanently_failed" and row.attempts == 1
    assert "template 'looping' (fr)" in (row.error or "") and "stopped" in (row.error or "")
    assert staff.smtp.handler.to("dan@example.org") == []
    # Temporal ran the send once: no retry of a template that can only fail again.
    started = []
    for wid in ("notify-loop-1", "notify-loop-1-batch-1"):
        history = await h.client.get_workflow_handle(wid).fetch_history()
        started += [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
    assert started and max(started) == 1


async def test_templates_over_the_limits_are_refused_at_save(staff: Desk) -> None:
    h = staff.herald
    with pytest.raises(InvalidInput, match="65537 characters.*65536"):
        await h.set_template("big", locale="fr", subject="S", body="x" * 65537)
    with pytest.raises(InvalidInput, match="1001 characters, over the limit of 1000"):
        await h.set_template("long", locale="fr", subject="S", body="B", short="y" * 1001)
    assert {t.name for t in await h.templates()} == {"new_order"}


async def test_an_alert_by_event_reaches_the_groups_the_setting_names(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    async with open_desk(
        ts_env, smtp, tmp_path, event_groups={"invoice.processed": ["accounting", "managers"]}
    ) as desk:
        h = desk.herald
        await h.set_template(
            "invoice_processed", locale="fr", subject="Facture {{ number }} traitée", body="…"
        )
        await h.upsert_subscriber("ana", name="Ana")
        await h.upsert_subscriber("ben", name="Ben")
        await h.create_groups([{"name": "accounting"}, {"name": "managers"}])
        await h.add_to_group("accounting", ["ana", "ben"])
        await h.add_to_group("managers", ["ben"])
        _, result = await h.notify(
            "invoice_processed",
            event="invoice.processed",
            context={"number": "F-9"},
            priority="low",  # in-app only
            request_id="invoice-F-9",
            wait=True,
        )
        assert result is not None and result.recipients == 2  # Ben once, though in both
        for who in ("ana", "ben"):
            [notice] = await h.inbox(who, category="system")
            assert notice["title"] == "Facture F-9 traitée"
