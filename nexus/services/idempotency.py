"""Idempotent execution of single-transaction mutations.

The key row is inserted inside the mutation's own transaction, so the unique
index serializes repeats: a concurrent repeat waits for the first to commit
and replays it, or (if the first rolled back on a userError) runs itself. A
crash rolls everything back, key included: nothing to recover.
Multi-phase operations (processing) use the recovery points in `processing`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.uow import UnitOfWork
from nexus.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from nexus.domain.idempotency import Decision, decide, request_fingerprint, validate_key
from nexus.services.records import now

SIGNUP_SCOPE = "signup"

Body = Callable[[UnitOfWork], Awaitable[dict[str, Any]]]


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    scope: str,
    key: str | None,
    operation: str,
    arguments: Mapping[str, Any],
    body: Body,
) -> tuple[dict[str, Any], bool]:
    """Run `body` once per (scope, key); returns (response, replayed)."""
    async with UnitOfWork(sessions) as uow:
        if key is not None:
            replay = await claim_or_replay(uow, scope, key, operation, arguments)
            if replay is not None:
                return replay, True
        response = await body(uow)
        if key is not None:
            await uow.idempotency.finish(scope, key, response)
        await uow.commit()
        return response, False


async def claim_or_replay(
    uow: UnitOfWork, scope: str, key: str, operation: str, arguments: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Own the key in this transaction, or return the stored response to replay."""
    validate_key(key)
    fingerprint = request_fingerprint(operation, arguments)
    at = now()
    if await uow.idempotency.claim(scope, key, operation, fingerprint, at, locked=False):
        return None
    stored = await uow.idempotency.get(scope, key, lock=True)
    decision = decide(stored, fingerprint, at)
    if decision is Decision.REPLAY:
        assert stored is not None and stored.response is not None
        return stored.response
    if decision is Decision.REUSED:
        raise IdempotencyKeyReused(
            "this idempotency key was already used with a different request; use a new key",
            ["idempotencyKey"],
        )
    if decision in (Decision.EXECUTE, Decision.EXPIRED_EXECUTE):
        await uow.idempotency.restart(scope, key, fingerprint, operation, at)
        return None
    raise IdempotencyKeyInUse(
        "a request with this idempotency key is still in progress; retry shortly", ["idempotencyKey"]
    )
