"""Idempotency keys as rows: the unique (scope, key) index is the lock.

A first request inserts its key inside its own transaction; a concurrent
repeat blocks on that insert until the first commits (then replays the stored
response) or rolls back (then executes itself): never a second execution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.prepared import Prepared, execute, fetch_one, write
from nexus.domain.idempotency import StoredKey

_K = models.IdempotencyKey


# Built once (bind parameters, memoized cache key): these run on every keyed mutation.
_CLAIM = Prepared(pg_insert(_K).on_conflict_do_nothing(index_elements=["scope", "key"]).returning(_K.id))
# A key written finished in the statement that does its work; a key that exists fails it.
_ADD_FINISHED = Prepared(pg_insert(_K))
_WHERE_KEY = (_K.scope == bindparam("w_scope"), _K.key == bindparam("w_key"))
_SELECT = select(_K.fingerprint, _K.locked_at, _K.response, _K.recovery_point, _K.created_at).where(*_WHERE_KEY)
_GET = Prepared(_SELECT)
_GET_LOCKED = Prepared(_SELECT.with_for_update())
_FINISH = Prepared(update(_K).where(*_WHERE_KEY).values(locked_at=None, recovery_point="finished"))
_SET_RECOVERY_POINT = Prepared(update(_K).where(*_WHERE_KEY))
_RECOVERY_DATA = Prepared(select(_K.recovery_data).where(*_WHERE_KEY))
# The rare paths of a processing phase 1 (a resumed or expired key) run there too, in a
# driver-only unit of work: Prepared like the rest of it.
_RESTART = Prepared(update(_K).where(*_WHERE_KEY).values(response=None))


def _fresh_row(
    operation: str,
    fingerprint: str,
    now: datetime,
    locked: bool,
    recovery_point: str,
    recovery_data: dict[str, Any] | None,
) -> dict[str, Any]:
    """A new key's columns: written by `claim`, and by `restart` over an expired key's row."""
    return {
        "operation": operation,
        "fingerprint": fingerprint,
        "locked_at": now if locked else None,
        "recovery_point": recovery_point,
        "recovery_data": recovery_data,
        "created_at": now,
    }


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self,
        scope: str,
        key: str,
        operation: str,
        fingerprint: str,
        now: datetime,
        *,
        locked: bool,
        recovery_point: str = "started",
        recovery_data: dict[str, Any] | None = None,
    ) -> bool:
        """Insert the key; True if this request owns it now, False if it already existed.

        A request that knows its first recovery point writes it here: it commits with the
        work it names, in the same transaction, so it is never seen without that work."""
        values = _fresh_row(operation, fingerprint, now, locked, recovery_point, recovery_data)
        return await fetch_one(self.session, _CLAIM, {"scope": scope, "key": key, **values}) is not None

    async def get(self, scope: str, key: str, *, lock: bool = False) -> StoredKey | None:
        params = {"w_scope": scope, "w_key": key}
        row = await fetch_one(self.session, _GET_LOCKED if lock else _GET, params)
        if row is None:
            return None
        return StoredKey(
            fingerprint=row.fingerprint,
            locked_at=row.locked_at,
            response=row.response,
            recovery_point=row.recovery_point,
            created_at=row.created_at,
        )

    async def recovery_data(self, scope: str, key: str) -> dict[str, Any] | None:
        row = await fetch_one(self.session, _RECOVERY_DATA, {"w_scope": scope, "w_key": key})
        return None if row is None else row.recovery_data

    async def set_recovery_point(
        self, scope: str, key: str, point: str, data: dict[str, Any] | None, now: datetime
    ) -> None:
        values = {"w_scope": scope, "w_key": key, "recovery_point": point, "recovery_data": data, "locked_at": now}
        await execute(self.session, _SET_RECOVERY_POINT, values)

    async def add_finished(
        self, scope: str, key: str, operation: str, fingerprint: str, response: dict[str, Any], now: datetime
    ) -> None:
        """Write a new key as `claim` then `finish` would leave it, as a held write. If the key
        exists, the statement it is sent in fails whole (see `is_key_taken`): a concurrent
        first request's insert is waited for, as a claim waits for it."""
        values = _fresh_row(operation, fingerprint, now, False, "finished", None)
        await write(self.session, _ADD_FINISHED, {"scope": scope, "key": key, "response": response, **values})

    async def finish(self, scope: str, key: str, response: dict[str, Any]) -> None:
        await write(self.session, _FINISH, {"w_scope": scope, "w_key": key, "response": response})

    async def restart(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        operation: str,
        now: datetime,
        recovery_point: str = "started",
        recovery_data: dict[str, Any] | None = None,
    ) -> None:
        """Reuse an expired key row as if new (as `claim` would have written it)."""
        values = _fresh_row(operation, fingerprint, now, True, recovery_point, recovery_data)
        await execute(self.session, _RESTART, {"w_scope": scope, "w_key": key, **values})

    async def delete_older_than(self, before: datetime, limit: int) -> int:
        ids = select(_K.id).where(_K.created_at < before).limit(limit).scalar_subquery()
        result = await self.session.execute(delete(_K).where(_K.id.in_(ids)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def is_key_taken(error: BaseException) -> bool:
    """The statement failed because its key already had a row (see `add_finished`)."""
    if not isinstance(error, asyncpg.UniqueViolationError):
        return False
    return bool(error.constraint_name == models.IDEMPOTENCY_KEY_CONSTRAINT)
