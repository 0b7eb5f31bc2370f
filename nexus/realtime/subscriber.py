"""One local subscriber: a bounded buffer of notifications and a wake-up.

A notification is only a hint that something committed; the stream re-reads the rows.
So when the buffer is full it is not grown: it is dropped and replaced by one
"resync since <time>" marker, which the stream answers with a database read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

# Notifications buffered per subscriber before it falls back to a resync. An intent has a
# handful of versions and a reader drains its buffer on every wake-up, so 64 is only reached
# by a merchant stream that stalls behind a slow client; a resync then costs one query.
QUEUE_CAPACITY = 64


@dataclass(frozen=True, slots=True)
class Notification:
    """The `nexus_events` payload (ids only) and when this process received it."""

    event_id: str
    merchant_id: str
    intent_id: str | None
    version: int | None
    seq: int
    received_at: datetime

    @classmethod
    def parse(cls, payload: str, received_at: datetime) -> Notification:
        body = json.loads(payload)
        version = body.get("v")
        return cls(
            event_id=str(body["id"]),
            merchant_id=str(body["m"]),
            intent_id=body.get("pi"),
            version=int(version) if version is not None else None,
            seq=int(body["s"]),
            received_at=received_at,
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """What woke a subscriber: fresh notifications, and/or "re-read everything since"."""

    notifications: list[Notification]
    resync_since: datetime | None


class Subscriber:
    __slots__ = ("_pending", "_resync_since", "_wake", "intent_id", "merchant_id")

    def __init__(self, *, intent_id: str | None, merchant_id: str | None) -> None:
        self.intent_id = intent_id
        self.merchant_id = merchant_id
        self._pending: list[Notification] = []
        self._resync_since: datetime | None = None
        self._wake = asyncio.Event()

    def offer(self, notification: Notification) -> None:
        """Called by the broker for each matching notification; never blocks."""
        if len(self._pending) >= QUEUE_CAPACITY:
            self.resync(self._pending[0].received_at)
            return
        self._pending.append(notification)
        self._wake.set()

    def resync(self, since: datetime) -> None:
        """Notifications may have been missed since `since`: re-read from the database."""
        self._pending.clear()
        if self._resync_since is None or since < self._resync_since:
            self._resync_since = since
        self._wake.set()

    async def next_batch(self, within: float) -> Batch | None:
        """The next batch, or None when `within` seconds pass without one."""
        if not self._wake.is_set():
            try:
                async with asyncio.timeout(within):
                    await self._wake.wait()
            except TimeoutError:
                return None
        batch = Batch(self._pending, self._resync_since)
        self._pending = []
        self._resync_since = None
        self._wake.clear()
        return batch
