"""Retry budgets per channel: parsed from the settings, refused when malformed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from herald.kinds import Channel
from herald.retry_budget import RetryBudget, parse_budget, parse_duration
from herald.settings import Settings
from workflows.notifying import SEND_RETRY, SEND_SCHEDULE_TO_CLOSE, send_options


def test_a_budget_is_attempts_and_or_a_total_duration() -> None:
    assert parse_budget("attempts:3") == RetryBudget(attempts=3)
    assert parse_budget("within:2h") == RetryBudget(within_seconds=7200)
    assert parse_budget(" attempts:5 , within:30m ") == RetryBudget(attempts=5, within_seconds=1800)
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("2d") == timedelta(days=2)


@pytest.mark.parametrize(
    "text",
    [
        "attempts:0",
        "attempts:many",
        "within:8d",
        "within:soon",
        "tries:3",
        "attempts:3,attempts:4",
        "",
    ],
)
def test_a_malformed_budget_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_budget(text)


def test_settings_per_channel_win_over_the_json_table() -> None:
    s = Settings(
        retry_budgets={"sms": "attempts:3", "email": "within:1h"},  # type: ignore[arg-type]
        retry_email="attempts:2",
    )
    assert s.retry_budget(Channel.EMAIL) == RetryBudget(attempts=2)
    assert s.retry_budget(Channel.SMS) == RetryBudget(attempts=3)
    assert s.retry_budget(Channel.WHATSAPP) is None


def test_settings_refuse_unknown_channels_and_bad_budgets() -> None:
    with pytest.raises(ValidationError, match="unknown channel 'fax'"):
        Settings(retry_budgets={"fax": "attempts:3"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="retry budget for sms"):
        Settings(retry_sms="attempts:zero")  # type: ignore[arg-type]


def test_no_budget_keeps_the_default_policy() -> None:
    assert send_options(None) == (SEND_RETRY, SEND_SCHEDULE_TO_CLOSE)
    policy, total = send_options(RetryBudget(attempts=3, within_seconds=600))
    assert policy.maximum_attempts == 3
    assert total == timedelta(minutes=10)
    assert policy.non_retryable_error_types == SEND_RETRY.non_retryable_error_types
