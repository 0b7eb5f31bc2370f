"""Idempotent execution of single-transaction mutations.

The key row is inserted inside the mutation's own transaction, so the unique
index serializes repeats: a concurrent repeat waits for the first to commit
and replays it, or (if the first rolled back on a userError) runs itself. A
crash rolls everything back, key included: nothing to recover.
Multi-phase operations (processing) use the recovery points in `processing`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.idempotency import is_key_taken
from nexus.db.uow import UnitOfWork
from nexus.domain.errors import DomainError, IdempotencyKeyInUse, IdempotencyKeyReused
from nexus.domain.idempotency import Decision, StoredKey, decide, request_fingerprint, validate_key
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
    *,
    driver_only: bool = False,
    writes_only: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Run `body` once per (scope, key); returns (response, replayed).

    The response is shared with the replay cache: callers read it, never change it.
    `driver_only`: the body's statements are all Prepared (see nexus/db/uow.py).
    `writes_only`: the body only writes (held writes, no reads), so a key never seen before
    runs as one statement (see `_first_time`).
    """
    # Computed once: the replay cache and the claim compare the same fingerprint.
    fingerprint = request_fingerprint(operation, arguments) if key is not None else ""
    if key is not None:
        validate_key(key)
        cached = REPLAYS.get(scope, key, fingerprint, now())
        if cached is not None:
            return cached, True
    if writes_only:
        response = await _first_time(sessions, scope, key, operation, fingerprint, body)
        if response is not None:
            return response, False
    async with UnitOfWork(sessions, driver_only=driver_only) as uow:
        if key is not None:
            replay = await claim_or_replay(uow, scope, key, operation, fingerprint)
            if replay is not None:
                return replay, True
        response = await body(uow)
        if key is not None:
            await uow.idempotency.finish(scope, key, response)
        await uow.commit()
        return response, False


async def _first_time(
    sessions: async_sessionmaker[AsyncSession],
    scope: str,
    key: str | None,
    operation: str,
    fingerprint: str,
    body: Body,
) -> dict[str, Any] | None:
    """The body's writes and its key, written finished, as one statement; None if the key exists.

    Nearly every key is new, and then this is one round trip where BEGIN, claim, writes and
    COMMIT were four. The statement is a transaction of its own: all of it or none of it. A key
    that exists fails it whole (nothing written) after waiting for the key's writer, as a claim
    would; the caller then goes the general way, which replays, refuses or re-runs, in a
    transaction of its own (the body runs again there, making its objects anew). So does a body
    that refuses the request: the general way claims first, so a reused key is reported as
    such whatever else is wrong with the request, as before."""
    try:
        async with UnitOfWork(sessions, driver_only=True, one_statement=True) as uow:
            response = await body(uow)
            if key is not None:
                await uow.idempotency.add_finished(scope, key, operation, fingerprint, response, now())
            await uow.commit()
            return response
    except DomainError:
        return None  # nothing was sent: the body refused before the commit
    except Exception as error:
        if is_key_taken(error):
            return None
        raise


async def claim_or_replay(
    uow: UnitOfWork, scope: str, key: str, operation: str, fingerprint: str
) -> dict[str, Any] | None:
    """Own the key in this transaction, or return the stored response to replay.

    `fingerprint`: `request_fingerprint` of the operation and its arguments (key validated)."""
    at = now()
    if await uow.idempotency.claim(scope, key, operation, fingerprint, at, locked=False):
        return None
    # The conflicting insert waited for the row's writer, so this reads committed state. A
    # finished response (or another request's fingerprint) is final until the key expires:
    # replay or refuse without the row lock, which would serialize every replay of one key.
    stored = await uow.idempotency.get(scope, key)
    decision = decide(stored, fingerprint, at)
    if decision not in (Decision.REPLAY, Decision.REUSED):
        stored = await uow.idempotency.get(scope, key, lock=True)
        decision = decide(stored, fingerprint, at)
    if decision is Decision.REPLAY:
        assert stored is not None and stored.response is not None
        REPLAYS.put(scope, key, stored)
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


class ReplayCache:
    """Finished responses this process has replayed, so a storm of repeats skips the database.

    A finished key never changes until it expires (KEY_TTL): only an expired key is
    restarted, and retention deletes only expired keys. So a cached entry answers exactly
    as the row would, until its expiry, after which it is a miss. Filled on the first
    replay only (not on every execution), so keys that are never repeated cost no memory.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], StoredKey] = {}

    def get(self, scope: str, key: str, fingerprint: str, at: datetime) -> dict[str, Any] | None:
        stored = self._entries.get((scope, key))
        if stored is None:
            return None
        decision = decide(stored, fingerprint, at)
        if decision is Decision.REPLAY:
            return stored.response
        if decision is Decision.REUSED:
            raise IdempotencyKeyReused(
                "this idempotency key was already used with a different request; use a new key",
                ["idempotencyKey"],
            )
        del self._entries[(scope, key)]  # expired: the database decides
        return None

    def put(self, scope: str, key: str, stored: StoredKey) -> None:
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # oldest first
        self._entries[(scope, key)] = stored


# Responses are ~1 KB as Python objects: 5,000 bound the cache near 5 MB per process, far
# more keys than are replayed at once (a storm repeats a handful of keys).
REPLAY_CACHE_MAX_ENTRIES = 5_000
REPLAYS = ReplayCache(REPLAY_CACHE_MAX_ENTRIES)
