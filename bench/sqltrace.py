"""Which SQL statements a request really sends: PostgreSQL's own log (log_statement = all).

The embedded server logs to <pgdata>/log. We turn statement logging on for the
`nexus` application only while a handful of requests run one after another, then
count each distinct statement per request. The dispatcher and job loops share
the database, so statements seen in fewer than half the requests are reported
apart as background.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# Our prefix makes each line say which application sent it; the server's default has no %a.
PREFIX = "%m [%p] app=%a "
_LINE = re.compile(r"app=(?P<app>\S*) LOG:  (?:statement|execute [^:]*): (?P<sql>.*)")


@dataclass(frozen=True)
class Trace:
    requests: int
    per_request: list[tuple[float, str]]  # (statements per request, SQL text), in first-seen order
    background: list[tuple[float, str]]

    @property
    def statements_per_request(self) -> float:
        return sum(n for n, _ in self.per_request)


async def _set(dsn: str, settings: dict[str, str | None]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for name, value in settings.items():
            if value is None:
                await conn.execute(f"ALTER SYSTEM RESET {name}")
            else:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def trace(
    dsn: str, pgdata: Path, requests: int, action: Callable[[], Awaitable[None]], app: str = "nexus"
) -> Trace:
    """Statements per request of one application (the gateway: `nexus`; the baselines:
    `baseline.APPLICATION_NAME` and `pgbench`)."""
    log = pgdata / "log"
    await _set(dsn, {"log_statement": "all", "log_line_prefix": PREFIX})
    start = log.stat().st_size
    try:
        await action()
    finally:
        await _set(dsn, {"log_statement": None, "log_line_prefix": None})
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    seen: Counter[str] = Counter()
    for line in text.splitlines():
        match = _LINE.search(line)
        if match and match["app"] == app:
            seen[_normalize(match["sql"])] += 1
    per_request = [(n / requests, sql) for sql, n in seen.items() if n * 2 >= requests]
    background = [(n / requests, sql) for sql, n in seen.items() if n * 2 < requests]
    return Trace(requests=requests, per_request=per_request, background=background)


def _normalize(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()
