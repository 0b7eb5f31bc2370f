"""The per-process cache of replayed idempotent responses answers exactly as the stored row would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nexus.domain.errors import IdempotencyKeyReused
from nexus.domain.idempotency import KEY_TTL, StoredKey
from nexus.services.idempotency import ReplayCache

AT = datetime(2026, 1, 1, tzinfo=UTC)


def finished(fingerprint: str = "f1") -> StoredKey:
    return StoredKey(
        fingerprint=fingerprint, locked_at=None, response={"ok": 1}, recovery_point="finished", created_at=AT
    )


def test_same_request_replays_the_stored_response() -> None:
    cache = ReplayCache(max_entries=10)
    cache.put("acct_1", "k", finished())
    assert cache.get("acct_1", "k", "f1", AT + timedelta(seconds=1)) == {"ok": 1}
    assert cache.get("acct_2", "k", "f1", AT) is None  # keys are scoped


def test_different_request_is_refused_like_the_database_would() -> None:
    cache = ReplayCache(max_entries=10)
    cache.put("acct_1", "k", finished())
    with pytest.raises(IdempotencyKeyReused):
        cache.get("acct_1", "k", "f2", AT)


def test_expired_key_is_a_miss_and_is_dropped() -> None:
    cache = ReplayCache(max_entries=10)
    cache.put("acct_1", "k", finished())
    later = AT + KEY_TTL + timedelta(seconds=1)
    assert cache.get("acct_1", "k", "f1", later) is None
    assert cache.get("acct_1", "k", "f1", AT) is None  # gone, not merely skipped


def test_size_is_bounded() -> None:
    cache = ReplayCache(max_entries=2)
    for key in ("a", "b", "c"):
        cache.put("s", key, finished())
    assert cache.get("s", "a", "f1", AT) is None
    assert cache.get("s", "c", "f1", AT) == {"ok": 1}
