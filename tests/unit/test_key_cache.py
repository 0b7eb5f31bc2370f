"""The per-process API-key cache: bounded age, exact expiry, forgotten on a roll, bounded size."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from nexus.db.repositories.merchants import KeyOwner
from nexus.services.auth import KeyCache

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def owner(merchant: str = "acct_1", expires_at: datetime | None = None) -> KeyOwner:
    return KeyOwner(key_id="key_1", merchant_id=merchant, kind="secret", expires_at=expires_at)


def test_hit_within_ttl_and_miss_after() -> None:
    cache = KeyCache(ttl_s=0.05, max_entries=10)
    cache.put("h", owner())
    assert cache.get("h", NOW) == owner()
    time.sleep(0.06)
    assert cache.get("h", NOW) is None


def test_expiry_is_exact_even_within_ttl() -> None:
    cache = KeyCache(ttl_s=60, max_entries=10)
    cache.put("h", owner(expires_at=NOW + timedelta(seconds=1)))
    assert cache.get("h", NOW) is not None
    assert cache.get("h", NOW + timedelta(seconds=1)) is None


def test_forget_merchant_drops_only_its_keys() -> None:
    cache = KeyCache(ttl_s=60, max_entries=10)
    cache.put("a", owner("acct_a"))
    cache.put("b", owner("acct_b"))
    cache.forget_merchant("acct_a")
    assert cache.get("a", NOW) is None
    assert cache.get("b", NOW) is not None


def test_size_is_bounded_oldest_first() -> None:
    cache = KeyCache(ttl_s=60, max_entries=2)
    for digest in ("1", "2", "3"):
        cache.put(digest, owner())
    assert cache.get("1", NOW) is None
    assert cache.get("2", NOW) is not None and cache.get("3", NOW) is not None
