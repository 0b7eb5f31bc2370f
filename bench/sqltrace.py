"""Which SQL statements a request really sends: PostgreSQL's own log (log_statement = all).

The embedded server logs to <pgdata>/log. We turn statement logging on for the
`nexus` application only while a handful of requests run one after another, then
count statements per request. The dispatcher and job loops share the database and
the application name, and their transactions also begin with BEGIN: so statements are
grouped into transactions per backend (BEGIN … COMMIT/ROLLBACK, or one statement
outside a transaction). Every request sends each of its transaction shapes once, so a
shape seen fewer times than there were requests is background, reported apart with all
its statements. (Counting single statements, and anything seen in half the requests,
once let a burst of the dispatcher's polls pass for two more statements per create.)
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
_LINE = re.compile(r"\[(?P<pid>\d+)\] app=(?P<app>\S*) LOG:  (?:statement|execute [^:]*): (?P<sql>.*)")
_BEGIN = re.compile(r"^(BEGIN|START TRANSACTION)\b", re.IGNORECASE)
_END = re.compile(r"^(COMMIT|ROLLBACK|END|ABORT)\b", re.IGNORECASE)


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
    return count(text, app, requests)


def count(log_text: str, app: str, requests: int) -> Trace:
    """Statements per request in a stretch of the log while `requests` requests ran."""
    shapes = transactions(log_text, app)
    per_request: Counter[str] = Counter()
    background: Counter[str] = Counter()
    for shape, n in shapes.items():
        into = per_request if n >= requests else background
        for sql in shape:
            into[sql] += n
    return Trace(
        requests=requests,
        per_request=[(n / requests, sql) for sql, n in per_request.items()],
        background=[(n / requests, sql) for sql, n in background.items()],
    )


def transactions(log_text: str, app: str) -> Counter[tuple[str, ...]]:
    """How often each transaction shape (its statements, in order) ran, per backend."""
    shapes: Counter[tuple[str, ...]] = Counter()
    open_: dict[str, list[str]] = {}
    for line in log_text.splitlines():
        match = _LINE.search(line)
        if not match or match["app"] != app:
            continue
        sql, pid = _normalize(match["sql"]), match["pid"]
        if _BEGIN.match(sql):
            if pid in open_:  # a BEGIN inside a transaction: count what was open as it stands
                shapes[tuple(open_.pop(pid))] += 1
            open_[pid] = [sql]
        elif pid in open_:
            open_[pid].append(sql)
            if _END.match(sql):
                shapes[tuple(open_.pop(pid))] += 1
        else:
            shapes[(sql,)] += 1
    for statements in open_.values():  # cut off by the end of the stretch
        shapes[tuple(statements)] += 1
    return shapes


def _normalize(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()
