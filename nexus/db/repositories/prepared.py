"""Hot statements sent straight to the asyncpg connection of the session's transaction.

Every create and payment sends these. SQLAlchemy still builds and compiles them, once
per set of parameter names; what is skipped per execution is its cache-key lookup,
execution context, greenlet hop and result wrapping: measured 0.088 -> 0.033 ms of
client CPU per statement. Same SQL text, same parameters (SQLAlchemy's own bind
processors, e.g. JSON), same transaction, committed or rolled back as usual: an ORM
session's is begun by its asyncpg adapter as SQLAlchemy would, a driver-only unit of
work's (DriverSession) by BEGIN on the driver. A failure that leaves the connection in
an unknown state invalidates it, as SQLAlchemy does for its own.
"""

from __future__ import annotations

import asyncio
import re
from collections import namedtuple
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, Union

import asyncpg
from sqlalchemy import Executable, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from nexus.db.engine import checkout

# Where a session keeps the driver connection of its current transaction.
_DRIVER = "nexus.driver"
# Writes of a driver-only unit of work not sent yet (see `write`).
_PENDING = "nexus.pending_writes"
T = TypeVar("T")
# An ORM unit of work's session, or a driver-only one's (DriverSession, below).
AnySession = Union[AsyncSession, "DriverSession"]


class _Form:
    """One compiled shape of a prepared statement: its SQL and how to order its parameters."""

    __slots__ = ("defaults", "names", "processors", "row", "sql", "table")

    def __init__(self, compiled: SQLCompiler) -> None:
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        self.processors: tuple[Callable[[Any], Any] | None, ...] = tuple(_single(processors.get(n)) for n in self.names)
        # Values fixed in the statement itself (`.values(locked_at=None)`).
        self.defaults: dict[str, Any] = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name in self.names and not bind.required
        }
        # Omitted columns with a constant Python-side default (e.g. version = 1) get it, as
        # SQLAlchemy would; a computed default would need its execution context, so none is allowed.
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default
            if default is None or not default.is_scalar:
                raise TypeError(f"{column} has a computed Python-side default: pass its value")
            self.defaults[column.key] = default.arg  # type: ignore[attr-defined]
        self.row: type[tuple[Any, ...]] | None = None
        # The table an INSERT or UPDATE writes (None for a SELECT): see `write`.
        target = getattr(compiled.statement, "table", None) if compiled.isinsert or compiled.isupdate else None
        self.table: str | None = None if target is None else target.name

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(value if process is None else process(value))
        return values

    def rows(self, records: list[asyncpg.Record]) -> list[Any]:
        if not records:
            return []
        if self.row is None:
            # Attribute access (`row.id`) like SQLAlchemy's Row, built once per statement.
            self.row = namedtuple("Row", list(records[0].keys()), rename=True)  # type: ignore[misc]
        make = self.row._make  # type: ignore[attr-defined]
        return [make(record.values()) for record in records]


def _single(processor: object) -> Callable[[Any], Any] | None:
    if processor is None or callable(processor):
        return processor  # type: ignore[return-value]
    raise TypeError("tuple-typed bind parameters are not supported on the driver path")


class Prepared:
    """A statement built once at import and sent straight to the driver (see the module doc).

    An INSERT or UPDATE compiles to the columns its parameters name, like SQLAlchemy
    does per execution; each distinct set of names is compiled once and kept.
    """

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, ...], _Form] = {}

    def form(self, session: AnySession, params: Mapping[str, Any]) -> _Form:
        keys = tuple(params)
        form = self._forms.get(keys)
        if form is None:
            bind = session.bind
            assert bind is not None, "sessions are bound to the engine"
            dialect: Dialect = bind.dialect
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
            form = self._forms[keys] = _Form(compiled)
        return form


async def _driver(session: AnySession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, which is begun if it is not yet."""
    driver = session.info.get(_DRIVER)
    if driver is not None:
        return driver  # type: ignore[no-any-return]
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    driver = adapted.driver_connection  # type: ignore[union-attr]
    if adapted._transaction is None:  # type: ignore[union-attr]
        # SQLAlchemy's asyncpg adapter begins lazily, on its first statement; this is that step.
        await _guarded(session, driver, "BEGIN", adapted._start_transaction())  # type: ignore[union-attr]
    session.info[_DRIVER] = driver
    return driver  # type: ignore[no-any-return]


async def _guarded(session: AnySession, driver: asyncpg.Connection, sql: str, operation: Awaitable[T]) -> T:
    """What SQLAlchemy does around a statement that fails: a connection whose state is
    unknown (closed, interrupted mid-protocol) is invalidated, never pooled again, and
    reported as such (SERVICE_UNAVAILABLE, retryable), while an error PostgreSQL answered
    on a healthy connection (a constraint, a lock timeout) goes up unchanged."""
    try:
        return await operation
    except asyncio.CancelledError:
        await _invalidate(session)  # cancelled mid-operation: the protocol state is unknown
        raise
    except Exception as error:
        # SQLAlchemy's adapter raises its own class `from` asyncpg's (an ORM session's BEGIN goes through it).
        cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
        if isinstance(cause, asyncpg.PostgresError) and not driver.is_closed():
            raise
        await _invalidate(session)
        if driver.is_closed() or isinstance(cause, asyncpg.InternalClientError | OSError):
            raise sa_exc.DBAPIError(sql, None, cause, connection_invalidated=True) from error
        raise  # a client-side bug (e.g. a parameter of the wrong type): not the database's state


async def _invalidate(session: AnySession) -> None:
    session.info.pop(_DRIVER, None)
    session.info.pop(_PENDING, None)
    if isinstance(session, DriverSession):
        pooled, session.pooled = session.pooled, None
        if pooled is not None:
            pooled.invalidate()  # closed for good, never back in the pool
        return
    connection = await session.connection()
    await connection.invalidate()


class DriverSession:
    """What a driver-only unit of work's repositories hold instead of an AsyncSession.

    Why: such a unit of work is a pooled connection and a transaction on its driver, nothing
    more. An AsyncSession (and its sync Session), SQLAlchemy's adapter's transaction object and
    the pool's reset on return were ~0.05 ms of CPU per unit of work on top of the driver's own
    BEGIN/COMMIT (bench/README.md). Any ORM use raises: it would run on another connection,
    outside the unit of work's transaction.
    """

    __slots__ = ("bind", "info", "one_statement", "pooled")

    def __init__(self, bind: AsyncEngine, *, one_statement: bool = False) -> None:
        self.bind = bind
        # No BEGIN and no COMMIT: the held writes are sent as one statement, which PostgreSQL
        # runs as a transaction of its own (see `begin_driver_only`).
        self.one_statement = one_statement
        self.info: dict[str, Any] = {}
        # The pooled connection the transaction runs on; None before BEGIN and once given back
        # (or invalidated).
        self.pooled: PoolProxiedConnection | None = None

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            "UnitOfWork(driver_only=True) runs Prepared statements only: this ORM use "
            f"(session.{name}) would run on another connection, outside the unit of work's transaction"
        )


async def begin_driver_only(session: DriverSession) -> None:
    """Begin the transaction on a pooled connection's driver (see DriverSession).

    A one-statement unit of work sends no BEGIN: its writes are held and sent at its commit
    as one statement, which PostgreSQL runs in a transaction of its own (all of it or none
    of it, durable when it answers), so BEGIN and COMMIT would be two round trips for nothing.
    It can only write: a read or a statement sent at once would run outside that transaction."""
    pooled = session.pooled = await checkout(session.bind)
    driver = pooled.dbapi_connection.driver_connection  # type: ignore[union-attr]
    if not session.one_statement:
        await _guarded(session, driver, "BEGIN", driver.execute("BEGIN"))
    session.info[_DRIVER] = driver


async def commit_driver_only(session: DriverSession) -> None:
    if session.info.get(_DRIVER) is None:
        raise RuntimeError("this driver-only unit of work has no transaction left to commit")
    await _flush(session)  # in a one-statement unit of work, this statement is the transaction
    # The driver is forgotten first: a statement after the commit must not run outside a
    # transaction (it reaches _driver, and the DriverSession refuses it).
    driver = session.info.pop(_DRIVER)
    if not session.one_statement:
        await _guarded(session, driver, "COMMIT", driver.execute("COMMIT"))


async def end_driver_only(session: DriverSession) -> None:
    """Roll back what was not committed and give the connection back to the pool (if it is
    still fit for it: one left in an unknown state was invalidated instead)."""
    pooled = session.pooled
    driver = None if pooled is None else pooled.dbapi_connection.driver_connection  # type: ignore[union-attr]
    try:
        # The protocol's own transaction status (from ReadyForQuery), whatever happened before.
        if driver is not None and driver.is_in_transaction():
            await _guarded(session, driver, "ROLLBACK", driver.execute("ROLLBACK"))
    finally:
        session.info.pop(_DRIVER, None)
        session.info.pop(_PENDING, None)  # held writes of a unit of work that did not commit
        pooled, session.pooled = session.pooled, None  # None if it was invalidated
        if pooled is not None:
            assert driver is not None, "a connection still held is the one the driver was read from"
            if driver.is_in_transaction():
                # The ROLLBACK failed or never ran (cancelled): the pool's own reset would not
                # know of this transaction (SQLAlchemy's adapter never began it), so never pool it.
                pooled.invalidate()
            else:
                # Idle: the pool's rollback-on-return would be one more call for nothing.
                pooled._close_special(transaction_reset=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: Any) -> None:
    # The connection goes back to the pool when the transaction ends: never reuse it after.
    session.info.pop(_DRIVER, None)


def _refuse_in_one_statement(session: AnySession) -> None:
    if type(session) is DriverSession and session.one_statement:
        raise RuntimeError(
            "a one-statement unit of work only holds writes: this statement would run at once, "
            "outside the transaction its commit sends"
        )


async def fetch(session: AnySession, prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
    _refuse_in_one_statement(session)
    driver = await _driver(session)
    if _PENDING in session.info:
        await _flush(session)
    form = prepared.form(session, params)
    return form.rows(await _guarded(session, driver, form.sql, driver.fetch(form.sql, *form.args(params))))


async def fetch_one(session: AnySession, prepared: Prepared, params: Mapping[str, Any]) -> Any | None:
    rows = await fetch(session, prepared, params)
    return rows[0] if rows else None


async def execute(session: AnySession, prepared: Prepared, params: Mapping[str, Any]) -> int:
    """Run a statement that returns no rows; returns how many rows it changed."""
    _refuse_in_one_statement(session)
    driver = await _driver(session)
    if _PENDING in session.info:
        await _flush(session)
    form = prepared.form(session, params)
    status: str = await _guarded(session, driver, form.sql, driver.execute(form.sql, *form.args(params)))
    # "UPDATE 1", "INSERT 0 1", "DELETE 3": the count is the last word.
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def write(session: AnySession, prepared: Prepared, params: Mapping[str, Any]) -> None:
    """An INSERT or UPDATE whose outcome no caller reads. In a driver-only unit of work it is
    held back and sent together with the other held writes, as one statement, just before
    the next statement or the commit: a payment's phase then costs one round trip for all its
    writes instead of one each. Same transaction, same order relative to reads; errors surface
    at that next statement or the commit, which the caller awaits. Two writes to one table are
    never sent together (a combined statement runs its parts in no defined order)."""
    if not isinstance(session, DriverSession):
        await execute(session, prepared, params)
        return
    if _DRIVER not in session.info:
        await _driver(session)  # after the commit: refused (by the DriverSession) rather than held forever
    form = prepared.form(session, params)
    if form.table is None:
        raise TypeError("write() is for INSERT and UPDATE statements")
    pending: list[tuple[_Form, list[Any]]] = session.info.setdefault(_PENDING, [])
    if any(held.table == form.table for held, _ in pending):
        if session.one_statement:
            raise RuntimeError(
                f"a one-statement unit of work writes {form.table} once: a second write is a second statement"
            )
        await _flush(session)
        pending = session.info.setdefault(_PENDING, [])
    pending.append((form, form.args(params)))


_COMBINED: dict[tuple[_Form, ...], str] = {}
_PLACEHOLDER = re.compile(r"\$(\d+)")


def combine_writes(statements: Sequence[str]) -> str:
    """One statement that runs every INSERT/UPDATE given, each a data-modifying WITH query,
    their parameters renumbered to follow one another ($1.. of the first, then the second's).
    The parts see one snapshot and run in no defined order, so none may depend on another's
    effect: callers never combine two writes to one table. (Constraints are checked at the end
    of the statement, after every part.)"""
    parts, offset = [], 0
    for number, sql in enumerate(statements):

        def shifted(match: re.Match[str], by: int = offset) -> str:
            return f"${int(match.group(1)) + by}"

        parts.append(f"w{number} AS ({_PLACEHOLDER.sub(shifted, sql)})")
        offset += max((int(n) for n in _PLACEHOLDER.findall(sql)), default=0)
    return "WITH " + ", ".join(parts) + " SELECT 1"


def _combined_sql(forms: tuple[_Form, ...]) -> str:
    sql = _COMBINED.get(forms)
    if sql is None:
        sql = _COMBINED[forms] = combine_writes([form.sql for form in forms])
    return sql


async def _flush(session: AnySession) -> None:
    pending: list[tuple[_Form, list[Any]]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    driver = session.info[_DRIVER]
    if len(pending) == 1:
        form, args = pending[0]
        await _guarded(session, driver, form.sql, driver.execute(form.sql, *args))
        return
    sql = _combined_sql(tuple(form for form, _ in pending))
    await _guarded(session, driver, sql, driver.execute(sql, *[a for _, args in pending for a in args]))
