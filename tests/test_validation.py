"""The edge's rules (herald/validation.py), and the limits checked against the tables that
will hold the values, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from herald.errors import Conflict, HeraldError, InvalidInput, Unavailable
from herald.settings import Settings, find_data_dir
from herald.validation import (
    LIMITS,
    aware_instant,
    check_context,
    check_id,
    check_int,
    check_link,
    check_workflow_id,
    clean_text,
)
from starter.client import Herald, crm_event_workflow_id
from tests.conftest import BACKENDS, migrated_store


@pytest.mark.parametrize("value", ["L1", "loan-2026.11:desk@site_3", "a" * LIMITS["id"]])
def test_ids_that_are_accepted(value: str) -> None:
    assert check_id(value, "loan id") == value


@pytest.mark.parametrize(
    "value",
    [
        "L1\n",  # ``^…$`` would let this one through
        "L1\r\n",
        "\nL1",
        "L 1",
        "L1\x00",
        "L/1",
        "-L1",
        "",
        "L\u00e91",  # not ASCII
        "a" * (LIMITS["id"] + 1),
    ],
)
def test_ids_must_match_as_a_whole(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_id(value, "loan id")
    assert str(err.value).startswith("invalid loan id")
    assert "\n" not in str(err.value)


def test_an_error_shows_a_bounded_start_of_the_value() -> None:
    with pytest.raises(InvalidInput) as err:
        check_id("x" * 100_000 + "\n", "loan id")
    assert len(str(err.value)) < 300
    assert "100001 characters" in str(err.value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Drill\x00", "control character"),
        ("Drill\x1b[31m", "control character"),
        ("Drill\udcff", "not valid UTF-8"),  # an undecodable byte from a command line
        ("Drill\nBcc: x", "one line"),
        ("Drill\u2028x", "one line"),
        ("x" * (LIMITS["item"] + 1), "the limit is 200"),
    ],
)
def test_text_that_no_column_or_header_can_carry_is_refused(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        clean_text(value, "item")


def test_text_is_trimmed_and_multiline_only_where_asked() -> None:
    assert clean_text("  Perceuse Bosch  ", "item") == "Perceuse Bosch"
    assert clean_text("line one\nline two", "reason", multiline=True) == "line one\nline two"
    with pytest.raises(InvalidInput):
        clean_text("line one\x00", "reason", multiline=True)


@pytest.mark.parametrize(
    "link",
    ["https://desk.example.org/loans/L1", "http://intranet:8080/r?id=3#top"],
)
def test_plain_web_links_are_accepted(link: str) -> None:
    assert check_link(link) == link


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("https://bank.example@evil.example/", "user name or password"),
        ("https://user:pw@desk.example.org/", "user name or password"),
        ("https://desk.example.org/\n", "one line"),
        ("https://desk.example.org/a b", "spaces"),
        ("javascript:alert(1)", "http"),
        ("data:text/html,hi", "http"),
        ("https:///path", "no host"),
        ("https://desk.example.org:99999/", "not a valid URL"),
        ("https://x.example/" + "a" * LIMITS["link"], "the limit"),
    ],
)
def test_links_that_could_mislead_or_break_are_refused(link: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check_link(link)


def test_instants_need_an_offset_and_stay_within_the_horizon() -> None:
    now = datetime.now(UTC)
    assert aware_instant(now + timedelta(days=3), "due time") == now + timedelta(days=3)
    with pytest.raises(InvalidInput, match="no time zone offset"):
        aware_instant(datetime(2030, 1, 1), "due time")
    with pytest.raises(InvalidInput, match="within 5 years"):
        aware_instant(datetime(9999, 12, 31, tzinfo=UTC), "due time")
    with pytest.raises(InvalidInput, match="within 5 years"):
        # Converting to UTC overflows: the refusal must not be an OverflowError.
        aware_instant(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))), "x")
    with pytest.raises(InvalidInput, match="within 5 years"):
        aware_instant(datetime(1, 1, 1, tzinfo=UTC), "borrowed-at time")


@pytest.mark.parametrize("value", [-1, 2**31, 10**30, True, 1.5, "3"])
def test_integers_must_fit_their_column(value: object) -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        check_int(value, "the reward points")


def test_contexts_are_json_of_bounded_depth_and_size() -> None:
    assert check_context({"site": "Lyon", "n": [1, 2, {"a": None}]}) == {
        "site": "Lyon",
        "n": [1, 2, {"a": None}],
    }
    deep: object = "leaf"
    for _ in range(100_000):  # deeper than Python's own recursion limit
        deep = [deep]
    with pytest.raises(InvalidInput, match="nested deeper than 8"):
        check_context({"x": deep})
    with pytest.raises(InvalidInput, match="bytes of JSON"):
        check_context({"x": "y" * (LIMITS["context_bytes"] - 5)})
    with pytest.raises(InvalidInput, match="control character"):
        check_context({"x": "a\x00b"})
    with pytest.raises(InvalidInput, match="not valid UTF-8"):
        check_context({"x\udcff": 1})
    with pytest.raises(InvalidInput, match="must be JSON"):
        check_context({"x": {1, 2}})
    with pytest.raises(InvalidInput, match="cannot carry"):
        check_context({"x": float("nan")})


def test_crm_event_workflow_ids_are_injective() -> None:
    from herald.contracts import CrmSubject

    one = crm_event_workflow_id(CrmSubject.LEAD, "A-event-B", "C")
    two = crm_event_workflow_id(CrmSubject.LEAD, "A", "B-event-C")
    assert one != two
    longest = crm_event_workflow_id(CrmSubject.LEAD, "a" * LIMITS["id"], "b" * LIMITS["id"])
    assert check_workflow_id(longest, "the event id") == longest


# ------------------------------------------------------------------ limits against the tables

# Which column holds each limited value; the limit must never exceed it.
HELD_BY = {
    "id": [
        ("subscribers", "id"),
        ("groups", "name"),
        ("templates", "name"),
        ("crm_followups", "followup_id"),
        ("crm_followups", "assignee_id"),
        ("crm_followups", "lead_id"),
        ("crm_lead_assignments", "lead_id"),
        ("crm_lead_assignments", "assignee_id"),
        ("crm_lead_assignments", "event_id"),
        ("daily_summaries", "subscriber_id"),
    ],
    "name": [("subscribers", "name"), ("crm_lead_assignments", "name")],
    "display_name": [("groups", "display_name")],
    "description": [("groups", "description"), ("webhook_endpoints", "description")],
    "title": [("inbox", "title"), ("crm_followups", "title")],
    "customer": [("crm_followups", "customer")],
    "company": [("crm_lead_assignments", "company")],
    "link": [("inbox", "link"), ("crm_followups", "link"), ("crm_lead_assignments", "link")],
    "webhook_url": [("webhook_endpoints", "url")],
    "workflow_id": [("deliveries", "workflow_id")],
}


@pytest.fixture(params=BACKENDS)
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_store(request, tmp_path) as store:
        yield str(store.engine.url.render_as_string(hide_password=False))


def test_every_limit_fits_the_column_that_holds_it(migrated_url: str) -> None:
    engine = sa.create_engine(migrated_url)
    try:
        inspector = sa.inspect(engine)
        lengths = {
            (table, column["name"]): getattr(column["type"], "length", None)
            for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
        }
    finally:
        engine.dispose()
    for limit, columns in HELD_BY.items():
        for column in columns:
            assert lengths[column] is not None and LIMITS[limit] <= lengths[column], (limit, column)
    # Keys and notification ids are built from workflow ids: the widest must fit.
    widest_key = LIMITS["workflow_id"] * 2 + len("||in_app")
    assert lengths[("deliveries", "idempotency_key")] >= widest_key
    assert lengths[("inbox", "delivery_key")] >= widest_key
    # A staff alert's failure notice: "failed:{template}/{subscriber}/{admin}".
    assert lengths[("deliveries", "notification_id")] >= len("failed://") + 3 * LIMITS["id"]


# ------------------------------------------------------------------ the data directory


def test_a_command_run_from_a_sub_folder_finds_the_stacks_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = tmp_path / "desk"
    (stack / ".herald").mkdir(parents=True)
    (stack / ".herald" / "herald.db").touch()
    deep = stack / "src" / "app"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("HERALD_DATA_DIR", raising=False)
    assert find_data_dir() == stack / ".herald"
    assert Settings().data_dir == stack / ".herald"
    # An explicit setting wins.
    monkeypatch.setenv("HERALD_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings().data_dir == tmp_path / "elsewhere"


async def test_a_client_that_finds_no_database_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HERALD_DATA_DIR", raising=False)
    monkeypatch.delenv("HERALD_DATABASE_URL", raising=False)
    with pytest.raises(Exception) as err:
        await Herald.connect(Settings())
    message = str(err.value)
    assert str(tmp_path / ".herald" / "herald.db") in message
    assert "HERALD_DATA_DIR" in message
    # Nothing was created on the way.
    assert not (tmp_path / ".herald").exists()


# ------------------------------------------------------------------ Temporal's refusals


@pytest.mark.parametrize(
    ("status", "message", "typed", "reason"),
    [
        ("NOT_FOUND", "workflow execution already completed", Conflict, "no longer running"),
        ("INVALID_ARGUMENT", "Blob data size exceeds limit.", InvalidInput, "too large"),
        ("RESOURCE_EXHAUSTED", "Blob data size exceeds limit.", InvalidInput, "too large"),
        ("INVALID_ARGUMENT", "WorkflowId length exceeds limit.", InvalidInput, "refused"),
        ("UNAVAILABLE", "connection reset\nby peer", Unavailable, "Temporal is unavailable"),
        ("PERMISSION_DENIED", "namespace\nlocked", HeraldError, "Temporal failed"),
    ],
)
def test_temporal_refusals_become_typed_one_line_errors(
    status: str, message: str, typed: type[Exception], reason: str
) -> None:
    from temporalio.service import RPCError, RPCStatusCode

    from starter.client import _temporal_refusal

    err = _temporal_refusal(RPCError(message, RPCStatusCode[status], b""), "loan L1")
    assert type(err) is typed
    assert reason in str(err) and "loan L1" in str(err)
    assert "\n" not in str(err)
