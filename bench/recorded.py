"""The gateway's own SQL for one request: recorded from its own services, replayed by the baselines.

The baselines must send what the gateway sends (issue 7: "the same SQL statements per
request"). Written by hand, they drifted lighter: constants where the gateway sends
parameters, documents half the size of the gateway's. So they are recorded instead.
`record` runs the gateway's service code in this process, once per scenario, on the
benchmark's database, with asyncpg's query logger on its one connection. Every statement
it sent (BEGIN and COMMIT included) is kept with its parameters, as the driver got them.

`Script.replay` sends those statements on a connection in the same order, the same way
(a statement with parameters is prepared and bound, one without is a simple query). Only
values that must differ per request change:
- the ids the request made (`pi_…`, `evt_…`, `pa_…`) and its idempotency key, wherever
  they appear (the intent id also inside the documents), get fresh values of the same length;
- timestamps move to now, each as far from the request's first as it was when recorded.
So the SQL text, the number and types of parameters and the documents' sizes are the
gateway's own.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from nexus.config import Settings
from nexus.crypto import Cipher
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.db.uow import UnitOfWork
from nexus.domain.status import CaptureMethod
from nexus.services import payment_intents
from nexus.services.acquirer import SimulatedAcquirer
from nexus.services.auth import Principal
from nexus.services.processing import Processor

T = TypeVar("T")
# What the recorder's session calls itself in pg_stat_activity and PostgreSQL's log.
APPLICATION_NAME = "nexus-recorder"
# The ids a request makes: nexus.domain.ids.new_id's shape (prefix, underscore, 24 base-62 chars).
_ID = re.compile(r"\b(?:pi|evt|pa)_[A-Za-z0-9]{24}\b")
_ALPHABET = string.ascii_letters + string.digits
# The key the recorded request used: about as long as the load generator's (nonce-client-n, ~19).
RECORDED_KEY_LENGTH = 20
# What scenario (a) and (b) send (bench.scenarios.CREATE / PROCESS).
AMOUNT, CURRENCY = 2000, "usd"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
# Scenario (e) asks for paymentIntents(first: 50): the resolver reads one row more to know if there is a next page.
PAGE_ROWS = 51


@dataclass(frozen=True)
class Statement:
    sql: str
    args: tuple[Any, ...]
    # Per argument: None (sent as recorded), a timestamp's offset from the request's first
    # (e.g. the velocity rule's "since", ten minutes before), or the tokens the value contains.
    slots: tuple[timedelta | tuple[str, ...] | None, ...]


@dataclass
class Script:
    """One request's statements, with the tokens (ids, key) to renew on every replay."""

    statements: list[Statement]
    tokens: tuple[str, ...]
    # A token whose fresh value is chosen by the caller (scenario (b): the intent to process).
    given: dict[str, str] = field(default_factory=dict)

    @property
    def statement_count(self) -> int:
        return len(self.statements)

    def fresh(self, **given: str) -> dict[str, str]:
        """New values for every token, the same length; `given` names the caller's ones."""
        values = {self.given[role]: value for role, value in given.items()}
        for token in self.tokens:
            if token in values:
                continue
            prefix, _, rest = token.partition("_") if is_id(token) else ("", "", token)
            # Unique, not secret: random.choices costs one call where secrets.choice costs one per character.
            tail = "".join(random.choices(_ALPHABET, k=len(rest)))
            values[token] = f"{prefix}_{tail}" if prefix else tail
        return values

    async def replay(self, conn: asyncpg.Connection, values: dict[str, str]) -> None:
        at = datetime.now(UTC)
        for s in self.statements:
            if not s.args:
                await conn.execute(s.sql)
                continue
            await conn.fetch(s.sql, *_bind(s, values, at))


def is_id(value: str) -> bool:
    """Whether a token is an id the request made (else it is its idempotency key)."""
    return _ID.fullmatch(value) is not None


def _bind(s: Statement, values: dict[str, str], at: datetime) -> list[Any]:
    args = []
    for value, slot in zip(s.args, s.slots, strict=True):
        if slot is None:
            args.append(value)
        elif isinstance(slot, timedelta):
            args.append(at + slot)
        else:
            for token in slot:
                value = value.replace(token, values[token])
            args.append(value)
    return args


def _slot(value: Any, tokens: tuple[str, ...], start: datetime | None) -> timedelta | tuple[str, ...] | None:
    if isinstance(value, datetime):
        assert start is not None
        return value - start
    if isinstance(value, str):
        inside = tuple(t for t in tokens if t in value)
        return inside or None
    return None


def _script(logged: list[tuple[str, tuple[Any, ...]]], key: str | None, given: dict[str, str]) -> Script:
    found: dict[str, None] = {} if key is None else {key: None}
    for _, args in logged:
        for value in args:
            if isinstance(value, str):
                found.update(dict.fromkeys(_ID.findall(value)))
    tokens = tuple(found)
    start = next((v for _, args in logged for v in args if isinstance(v, datetime)), None)
    statements = [Statement(sql, args, tuple(_slot(v, tokens, start) for v in args)) for sql, args in logged]
    return Script(statements, tokens, given)


class _Recorder:
    """The gateway's engine and sessions, on one connection whose statements are logged."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_engine(url, Settings(), pool_size=1)
        self.sessions = create_sessionmaker(self.engine)
        self.logged: list[tuple[str, tuple[Any, ...]]] | None = None
        event.listen(self.engine.sync_engine, "do_connect", self._name)
        event.listen(self.engine.sync_engine, "connect", self._on_connect)

    @staticmethod
    def _name(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        # Not `nexus`: bench.sqltrace reads the gateway's statements in PostgreSQL's log by that name.
        cparams["server_settings"] = {**cparams.get("server_settings", {}), "application_name": APPLICATION_NAME}

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(self._log)

    def _log(self, query: Any) -> None:
        if self.logged is not None and query.exception is None:
            self.logged.append((query.query, tuple(query.args or ())))

    async def capture(
        self, setup: Callable[[], Awaitable[T]], action: Callable[[T], Awaitable[None]]
    ) -> tuple[T, list[tuple[str, tuple[Any, ...]]]]:
        """What `action` sent, given what `setup` (not recorded) made for it.

        It runs once unrecorded first: a connection's first use of some types makes asyncpg
        look them up with queries of its own (once per connection, as the gateway's did
        long ago); the second run is what every later request sends."""
        await action(await setup())
        given = await setup()
        await _settle()
        self.logged = []
        try:
            await action(given)
            await _settle()
            return given, self.logged
        finally:
            self.logged = None


async def _settle() -> None:
    # asyncpg hands a statement to its query loggers with loop.call_soon: let them run.
    for _ in range(3):
        await asyncio.sleep(0)


def _key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(RECORDED_KEY_LENGTH))


async def record(url: str, merchant_id: str, read_merchant_id: str) -> dict[str, Script]:
    """Scripts for scenarios (a), (b) and (e), recorded from the gateway's services.

    `url` is the gateway's SQLAlchemy URL; `merchant_id` writes (a) and (b), and
    `read_merchant_id`'s intents are the page (e) reads."""
    r = _Recorder(url)
    sessions = r.sessions

    async def create(key: str) -> None:
        await payment_intents.create(sessions, merchant_id, AMOUNT, CURRENCY, CaptureMethod.AUTOMATIC, None, None, key)

    async def new_key() -> str:
        return _key()

    async def made() -> tuple[str, str]:
        # (b) processes an intent made before it, as the benchmark's are made by (a).
        intent = await payment_intents.create(
            sessions, merchant_id, AMOUNT, CURRENCY, CaptureMethod.AUTOMATIC, None, None, _key()
        )
        return intent.intent.id, _key()

    processor = Processor(sessions, Cipher(secrets.token_bytes(32)), SimulatedAcquirer(0))
    principal = Principal(merchant_id=merchant_id, kind="secret", key_id="recorded")

    async def process(given: tuple[str, str]) -> None:
        await processor.process(principal, given[0], None, dict(CARD), given[1])

    async def nothing() -> None:
        return None

    async def page(_: None) -> None:
        # What Query.payment_intents (nexus/schema/query.py) runs for paymentIntents(first: 50).
        async with UnitOfWork(sessions, driver_only=True) as uow:
            await uow.intents.page(read_merchant_id, PAGE_ROWS, None, None, None, None)

    try:
        key, logged = await r.capture(new_key, create)
        scripts = {"a": _script(logged, key, {})}
        (intent, key), logged = await r.capture(made, process)
        scripts["b"] = _script(logged, key, {"intent": intent})
        _, logged = await r.capture(nothing, page)
        scripts["e"] = _script(logged, None, {})
        return scripts
    finally:
        await r.engine.dispose()
