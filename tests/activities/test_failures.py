"""Nothing gets stuck: every failure of the composing and sending step is classified once.

Each failure a retry cannot fix ends the delivery row ``permanently_failed`` in the attempt
that met it (``attempts == 1``), with a readable reason bounded for the row and for Temporal.
Run with ``ActivityEnvironment`` against the real SMTP server and both database backends.
"""

from __future__ import annotations

import dataclasses
import errno
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from herald.channels import OutboxProvider, SmtpProvider
from herald.channels.base import (
    ERROR_TEXT_LIMIT,
    FAILURE_MESSAGE_LIMIT,
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    TransientSendError,
    bounded_text,
)
from herald.channels.failures import classify_failure
from herald.channels.inbox import InboxProvider
from herald.contracts import ChannelSend, DeliveryRequest, DeliveryStatus, Role
from herald.kinds import Channel
from herald.rendering import TemplateError
from herald.settings import Settings
from herald.store import Store
from tests.conftest import BACKENDS, migrated_store
from tests.smtp_server import SmtpServer


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    tables = ("inbox", "deliveries", "preferences", "subscribers")
    with migrated_store(request, tmp_path, tables=tables) as s:
        s.upsert_subscriber("ana", name="Ana", email="ana@example.org")
        s.upsert_subscriber("anais", name="Anaïs", email="anaïs@example.org")
        yield s


def loan_request(subscriber_id: str = "ana", **data: Any) -> DeliveryRequest:
    return DeliveryRequest(
        workflow_id="loan-F1",
        notification_id="loan.reminder_j1@f",
        kind="loan.reminder_j1",
        role=Role.BORROWER,
        subscriber_id=subscriber_id,
        subject_type="loan",
        subject_id="F1",
        scheduled_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        data={
            "loan_id": "F1",
            "item": "Projecteur",
            "borrower_id": subscriber_id,
            "manager_id": None,
            "borrowed_at": "2026-12-01T09:00:00+00:00",
            "due_at": "2026-12-04T17:00:00+00:00",
            "returned_at": None,
            "late_by_seconds": None,
            "alert_number": None,
            "max_alerts": 3,
            **data,
        },
    )


class ProviderBug(Exception):
    """What a provider with a bug raises: nobody classified it."""


class BuggyProvider:
    """A provider whose bug raises an exception nobody expected, with a 1 MB message that
    also holds a NUL and a lone surrogate (PostgreSQL and UTF-8 refuse both)."""

    name: ClassVar[str] = "buggy"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.EMAIL})

    def send(self, message: OutgoingMessage) -> Receipt:
        raise ProviderBug("state dump \x00 \udc80 " + "x" * 1_000_000)


def smtp_provider(smtp: SmtpServer) -> SmtpProvider:
    return SmtpProvider(
        host="127.0.0.1", port=smtp.port, sender="prets@example.org", starttls=False
    )


def deliver_once(
    acts: DeliveryActivities, req: DeliveryRequest, channel: Channel
) -> ApplicationError:
    """Plan, then run the first attempt of the send; it must fail for good."""
    plan = ActivityEnvironment().run(acts.plan_delivery, req)
    decision = next(d for d in plan.decisions if d.channel is channel)
    assert decision.status is DeliveryStatus.PENDING, decision.reason
    send = ChannelSend(request=req, channel=channel, idempotency_key=decision.idempotency_key)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=1)
    with pytest.raises(ApplicationError) as err:
        env.run(acts.deliver, send)
    return err.value


CASES = [
    "header_newline",
    "non_ascii_no_smtputf8",
    "file_name_too_long",
    "column_too_long",
    "unknown_1mb",
]


@pytest.mark.parametrize("case", CASES)
def test_each_unfixable_failure_ends_permanently_failed_in_one_attempt(
    case: str, store: Store, smtp: SmtpServer, tmp_path: Path
) -> None:
    channel, subscriber, data = Channel.EMAIL, "ana", {}
    settings = Settings()
    providers: dict[Channel, list[Any]] = {Channel.EMAIL: [smtp_provider(smtp)]}
    if case == "header_newline":
        # A header injection attempt through the unsubscribe link: the header refuses it.
        settings = Settings(
            email_list_unsubscribe="https://x.example/u/{subscriber_id}\r\nBcc: evil@x.example"
        )
        expected = "linefeed"
    elif case == "non_ascii_no_smtputf8":
        subscriber, expected = "anais", "SMTPUTF8"
    elif case == "file_name_too_long":
        providers = {Channel.EMAIL: [OutboxProvider(tmp_path / ("d" * 300))]}
        expected = "File name too long"
    elif case == "column_too_long":
        channel = Channel.IN_APP
        providers = {Channel.IN_APP: [InboxProvider(store)]}
        data = {"link": "https://example.org/" + "x" * 1500}
        expected = "in-app link of 1520 characters is over its limit of 1000"
    else:
        providers = {Channel.EMAIL: [BuggyProvider()]}
        expected = "ProviderBug: state dump \\x00 \\udc80 xxx"
    acts = DeliveryActivities(store, providers, settings)

    error = deliver_once(acts, loan_request(subscriber, **data), channel)

    assert error.non_retryable and error.type == "PermanentSendError"
    assert expected in error.message and len(error.message) <= FAILURE_MESSAGE_LIMIT
    [row] = [r for r in store.list_deliveries(subject_id="F1") if r.channel == channel.value]
    assert row.status == "permanently_failed" and row.attempts == 1
    assert row.error is not None and expected in row.error and len(row.error) <= ERROR_TEXT_LIMIT
    assert "\x00" not in row.error
    for entry in row.provider_errors or []:  # each provider's own failure, bounded too
        assert len(entry["error"]) <= ERROR_TEXT_LIMIT
    if case == "unknown_1mb":  # Temporal gets more of it than the row, still bounded
        assert ERROR_TEXT_LIMIT < len(error.message) <= FAILURE_MESSAGE_LIMIT
        assert row.provider_errors and row.provider_errors[0]["provider"] == "buggy"
    assert smtp.handler.messages == []  # nothing half-sent
    assert store.list_inbox("ana") == []


def test_a_server_offering_smtputf8_gets_the_non_ascii_address(store: Store) -> None:
    server = SmtpServer(smtputf8=True).start()
    try:
        acts = DeliveryActivities(store, {Channel.EMAIL: [smtp_provider(server)]}, Settings())
        req = loan_request("anais")
        plan = ActivityEnvironment().run(acts.plan_delivery, req)
        email = next(d for d in plan.decisions if d.channel is Channel.EMAIL)
        send = ChannelSend(
            request=req, channel=Channel.EMAIL, idempotency_key=email.idempotency_key
        )
        result = ActivityEnvironment().run(acts.deliver, send)
        assert result.status is DeliveryStatus.SENT
        [mail] = server.handler.messages
        assert mail.recipients == ["anaïs@example.org"]
        assert "SMTPUTF8" in mail.mail_options
        assert "Projecteur" in mail.part("plain")
    finally:
        server.stop()


# ---------------------------------------------------------------- the classification itself


def real_data_error(store: Store) -> Exception:
    """What PostgreSQL answers to a value longer than its column."""
    with pytest.raises(sa_exc.DataError) as err, store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (id, name, locale, timezone, created_at, updated_at) "
                "VALUES (:id, 'x', 'fr', 'UTC', now(), now())"
            ),
            {"id": "x" * 300},
        )
    return err.value


def test_data_errors_from_the_database_are_permanent(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    failure = classify_failure(real_data_error(store))
    assert isinstance(failure, PermanentSendError) and "DataError" in failure.reason
    assert len(failure.reason) <= ERROR_TEXT_LIMIT


def test_an_unreachable_database_is_transient(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    s = Store.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none?connect_timeout=2")
    with pytest.raises(sa_exc.OperationalError) as err:
        s.get_contact("ana")
    assert isinstance(classify_failure(err.value), TransientSendError)


def test_connection_refused_is_transient_and_a_bad_value_permanent() -> None:
    port_sock = socket.socket()
    port_sock.bind(("127.0.0.1", 0))
    port = port_sock.getsockname()[1]
    port_sock.close()
    with pytest.raises(OSError) as refused:
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert isinstance(classify_failure(refused.value), TransientSendError)
    assert isinstance(classify_failure(OSError(errno.ENOSPC, "No space left")), TransientSendError)
    for permanent in (
        OSError(errno.ENAMETOOLONG, "File name too long"),
        ValueError("Header values may not contain linefeed"),
        UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range"),
        TemplateError("template fr/x.txt: undefined variable: 'y'"),
        smtplib.SMTPNotSupportedError("needs SMTPUTF8"),
        KeyError("surprise"),
    ):
        assert isinstance(classify_failure(permanent), PermanentSendError), permanent


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers["Retry-After"] = "7"
    return requests.HTTPError(f"{status} from provider", response=response)


def test_provider_http_statuses() -> None:
    for status in (500, 503, 429):
        failure = classify_failure(http_error(status))
        assert isinstance(failure, TransientSendError) and failure.retry_after == 7.0
    for status in (400, 401, 404, 422):
        assert isinstance(classify_failure(http_error(status)), PermanentSendError)
    assert isinstance(classify_failure(requests.ConnectionError("reset")), TransientSendError)


def test_bounded_text_escapes_and_says_what_it_left_out() -> None:
    assert bounded_text("a\x00b\udc80c") == "a\\x00b\\udc80c"
    long = bounded_text("y" * 1_000_000, 1000)
    assert len(long) <= 1000 and long.endswith("more characters)")
    omitted = int(long.rsplit("(", 1)[1].split()[0])
    assert long.count("y") + omitted == 1_000_000
