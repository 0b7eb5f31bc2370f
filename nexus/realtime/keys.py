"""Re-checking the API keys of open subscriptions, shared per key across a process.

A key revoked while a stream is open (rollApiKey with expireCurrentInSeconds 0) must stop
that stream. Every stream asks here on its own schedule; one lookup per key and interval
answers all streams using that key, so 1,000 browsers on one publishable key cost one
indexed query per interval, not 1,000.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.crypto import hash_api_key
from nexus.domain.errors import Unauthenticated
from nexus.services.auth import Principal, authenticate

# How often an open stream re-checks its key. A revoked key stops streaming within this
# (plus one query): 2 s is "within a few seconds" for a security action, and at one
# shared lookup per key per 2 s the cost is negligible next to the streams themselves.
RECHECK_INTERVAL_S = 2.0


class KeyChecker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval: float = RECHECK_INTERVAL_S) -> None:
        self._sessions = sessions
        self.interval = interval
        # key hash -> (checked at, principal, or the error that refused it); plaintext never kept.
        self._answers: dict[str, tuple[float, Principal | Unauthenticated]] = {}
        self._inflight: dict[str, asyncio.Task[Principal | Unauthenticated]] = {}

    async def require_valid(self, key: str | None, expected: Principal) -> None:
        """Raise UNAUTHENTICATED unless `key` still authenticates as `expected`."""
        if not key:
            raise Unauthenticated("the API key of this subscription is missing")
        answer = await self._answer(hash_api_key(key), key)
        if isinstance(answer, Unauthenticated):
            raise Unauthenticated(answer.message)
        if answer.key_id != expected.key_id or answer.merchant_id != expected.merchant_id:
            raise Unauthenticated("the API key of this subscription changed owner")

    async def _answer(self, digest: str, key: str) -> Principal | Unauthenticated:
        cached = self._answers.get(digest)
        if cached is not None and time.monotonic() - cached[0] < self.interval:
            return cached[1]
        task = self._inflight.get(digest)
        if task is None:
            # A task of its own: a stream closing mid-lookup must not cancel it for the others.
            task = asyncio.create_task(self._lookup(key), name="realtime-key-check")
            self._inflight[digest] = task
            task.add_done_callback(lambda done: self._settle(digest, done))
        return await asyncio.shield(task)

    def _settle(self, digest: str, task: asyncio.Task[Principal | Unauthenticated]) -> None:
        del self._inflight[digest]
        if task.cancelled() or task.exception() is not None:
            return  # the waiters see it; the next check asks again
        now = time.monotonic()
        self._forget_stale(now)
        self._answers[digest] = (now, task.result())

    async def _lookup(self, key: str) -> Principal | Unauthenticated:
        try:
            return await authenticate(self._sessions, key)
        except Unauthenticated as refused:
            return refused

    def _forget_stale(self, now: float) -> None:
        # Bounded by the keys of open streams: answers older than one interval are useless.
        stale = [digest for digest, (at, _) in self._answers.items() if now - at >= self.interval]
        for digest in stale:
            del self._answers[digest]
