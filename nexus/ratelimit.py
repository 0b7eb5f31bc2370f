"""Per-API-key token buckets (per process: N processes allow N× the rate, documented)."""

from __future__ import annotations

import time
from dataclasses import dataclass

# Buckets idle longer than this are dropped so memory stays bounded by active keys.
IDLE_EVICT_S = 300.0
# Sweep at most this often; sweeping is O(keys).
SWEEP_EVERY_S = 60.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` tokens per second, burst twice that (API.md); rate 0 turns it off."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = rate * 2
        self._buckets: dict[str, _Bucket] = {}
        self._last_sweep = time.monotonic()

    def check(self, key: str) -> float:
        """0 if allowed (and a token is taken), else seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._maybe_sweep(now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _maybe_sweep(self, now: float) -> None:
        if now - self._last_sweep < SWEEP_EVERY_S:
            return
        self._last_sweep = now
        stale = [k for k, b in self._buckets.items() if now - b.updated > IDLE_EVICT_S]
        for key in stale:
            del self._buckets[key]
