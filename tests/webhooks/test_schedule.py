"""The retry rules, pure: what follows each attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from nexus.webhooks.schedule import JITTER, MAX_RETRY_AFTER_S, Outcome, decide, parse_retry_after

DELAYS = (5.0, 300.0, 1800.0)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_succeeds(status: int) -> None:
    assert decide(1, status, None, DELAYS).outcome is Outcome.SUCCEEDED


def test_410_is_gone_even_on_the_first_attempt() -> None:
    assert decide(1, 410, None, DELAYS).outcome is Outcome.GONE


@pytest.mark.parametrize("status", [None, 301, 400, 404, 429, 500, 503])
def test_everything_else_is_retried_by_the_schedule_with_jitter(status: int | None) -> None:
    rng = random.Random(7)
    for attempt, base in enumerate(DELAYS, start=1):
        decision = decide(attempt, status, None, DELAYS, rng)
        assert decision.outcome is Outcome.RETRY and decision.delay_s is not None
        assert base * (1 - JITTER) <= decision.delay_s <= base * (1 + JITTER)


def test_after_the_last_delay_the_delivery_fails() -> None:
    assert decide(len(DELAYS) + 1, 500, None, DELAYS).outcome is Outcome.FAILED
    assert decide(1, 500, None, ()).outcome is Outcome.FAILED


def test_jitter_spreads_retries() -> None:
    rng = random.Random(1)
    delays = {decide(1, 500, None, DELAYS, rng).delay_s for _ in range(20)}
    assert len(delays) > 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_429_and_503(status: int) -> None:
    decision = decide(1, status, "120", DELAYS)
    assert decision.outcome is Outcome.RETRY and decision.delay_s == 120.0


def test_retry_after_never_shortens_the_schedule_nor_parks_forever() -> None:
    assert (decide(2, 429, "1", DELAYS).delay_s or 0) >= 300 * (1 - JITTER)
    assert decide(1, 503, str(10**9), DELAYS).delay_s == MAX_RETRY_AFTER_S
    # Only 429 and 503 carry the meaning; a 500's Retry-After is ignored.
    assert (decide(1, 500, "120", DELAYS).delay_s or 0) <= 5 * (1 + JITTER)


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert decide(1, 429, "soon", DELAYS).delay_s is not None  # unreadable: the schedule applies
