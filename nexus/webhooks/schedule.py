"""What to do after a delivery attempt: pure rules, no I/O (the dispatcher applies them).

API.md: success is any 2xx; 410 disables the endpoint; anything else is retried
after dᵢ seconds (±10 % jitter) following failed attempt i, at most n+1 attempts,
then the delivery is failed. A 429 or 503 with `Retry-After` is not retried sooner.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# ±10 %: enough to spread the retries of a burst that failed together (an
# endpoint outage) so they do not all hit the recovering endpoint at once.
JITTER = 0.10
# A receiver may ask us to wait, but not park a delivery forever: one day is
# the longest gap of the default schedule.
MAX_RETRY_AFTER_S = 24 * 3600.0
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410
# Jitter needs spread, not secrecy: the ordinary PRNG is right here.
_RNG = random.Random()


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"  # retries exhausted
    GONE = "gone"  # 410: the endpoint is disabled


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    delay_s: float | None = None  # for RETRY


def decide(
    attempt_number: int,
    status_code: int | None,
    retry_after: str | None,
    delays: tuple[float, ...],
    rng: random.Random | None = None,
) -> Decision:
    """The outcome of attempt `attempt_number` (1-based) that got `status_code` (None: no response)."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(Outcome.SUCCEEDED)
    if status_code == GONE:
        return Decision(Outcome.GONE)
    if attempt_number > len(delays):
        return Decision(Outcome.FAILED)
    delay = jittered(delays[attempt_number - 1], rng or _RNG)
    if status_code in RETRY_AFTER_STATUSES and retry_after is not None:
        asked = parse_retry_after(retry_after)
        if asked is not None:
            delay = max(delay, min(asked, MAX_RETRY_AFTER_S))
    return Decision(Outcome.RETRY, delay)


def jittered(delay: float, rng: random.Random) -> float:
    return delay * rng.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unreadable."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
