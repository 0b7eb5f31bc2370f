"""Counting a request's statements from PostgreSQL's log, with background loops in the same log.

The dispatcher's polls run as the same application and also begin with BEGIN. Counted statement by
statement, with anything seen in half the requests taken for a request's, polls during ten traced
creates made (a) look like 6 statements a request, not 4 (a red smoke test in CI).
"""

from __future__ import annotations

import pytest

from bench import sqltrace

REQUEST = [
    "statement: BEGIN;",
    "execute __asyncpg_stmt_1__: INSERT INTO idempotency_keys (scope, key) VALUES ($1, $2)",
    "execute __asyncpg_stmt_2__: WITH w0 AS (INSERT INTO payment_intents (id) VALUES ($1)) SELECT 1",
    "statement: COMMIT;",
]
POLL = [
    "statement: BEGIN;",
    "execute __asyncpg_stmt_9__: SELECT min(webhook_deliveries.next_attempt_at) FROM webhook_deliveries",
    "statement: ROLLBACK;",
]


def _line(pid: int, app: str, message: str) -> str:
    return f"2026-11-28 19:01:21.490 UTC [{pid}] app={app} LOG:  {message}"


def _log(requests: int, polls: int) -> str:
    """Requests on two backends, the polls of a third interleaved statement by statement."""
    lines: list[str] = []
    poll_lines = [_line(30, "nexus", m) for _ in range(polls) for m in POLL]
    for n in range(requests):
        for message in REQUEST:
            lines.append(_line(10 + n % 2, "nexus", message))
            if poll_lines:
                lines.append(poll_lines.pop(0))
    lines += poll_lines
    lines.append(_line(40, "nexus-baseline", "statement: BEGIN;"))  # another application: not counted
    return "\n".join(lines)


def test_background_transactions_do_not_count_as_a_requests_statements() -> None:
    trace = sqltrace.count(_log(requests=10, polls=7), "nexus", 10)
    assert trace.statements_per_request == 4
    assert [sql for _, sql in trace.per_request] == [
        "BEGIN;",
        "INSERT INTO idempotency_keys (scope, key) VALUES ($1, $2)",
        "WITH w0 AS (INSERT INTO payment_intents (id) VALUES ($1)) SELECT 1",
        "COMMIT;",
    ]
    background = dict((sql, n) for n, sql in trace.background)
    assert background == {
        "BEGIN;": 0.7,
        "SELECT min(webhook_deliveries.next_attempt_at) FROM webhook_deliveries": 0.7,
        "ROLLBACK;": 0.7,
    }


def test_a_shape_seen_less_often_than_the_requests_is_background() -> None:
    trace = sqltrace.count(_log(requests=10, polls=9), "nexus", 10)
    assert trace.statements_per_request == 4
    assert sum(n for n, _ in trace.background) == pytest.approx(2.7)


def test_statements_outside_a_transaction_and_a_cut_off_one_are_counted() -> None:
    text = "\n".join(
        [_line(5, "nexus", "execute s: SELECT 1") for _ in range(4)]
        + [_line(6, "nexus", "statement: BEGIN;"), _line(6, "nexus", "execute s: SELECT 2")]
    )
    trace = sqltrace.count(text, "nexus", 4)
    assert trace.per_request == [(1.0, "SELECT 1")]
    assert trace.background == [(0.25, "BEGIN;"), (0.25, "SELECT 2")]
