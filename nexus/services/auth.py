"""Who is calling: API keys are looked up by their SHA-256, never stored in plaintext."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.crypto import hash_api_key
from nexus.db.repositories.merchants import KeyOwner
from nexus.db.uow import UnitOfWork
from nexus.domain.errors import Forbidden, Unauthenticated
from nexus.services.records import now

SECRET_PREFIX = "sk_test_"
PUBLISHABLE_PREFIX = "pk_test_"
# Longer than any key we issue; anything longer is refused before hashing.
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Principal:
    merchant_id: str
    kind: str  # "secret" | "publishable"
    key_id: str

    @property
    def is_secret(self) -> bool:
        return self.kind == "secret"

    def require_secret(self) -> None:
        if not self.is_secret:
            raise Forbidden("a publishable key cannot do this: use your secret key from your server")


def parse_authorization(value: str | None) -> str | None:
    """`Bearer <key>` or a bare key (X-API-KEY, GraphiQL headers)."""
    if not value:
        return None
    value = value.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value or None


async def authenticate(sessions: async_sessionmaker[AsyncSession], key: str | None) -> Principal:
    """Always asks the database (WebSocket connects, subscription re-checks)."""
    owner = await _lookup(sessions, _checked(key))
    return Principal(merchant_id=owner.merchant_id, kind=owner.kind, key_id=owner.key_id)


async def authenticate_cached(sessions: async_sessionmaker[AsyncSession], key: str | None) -> Principal:
    """Like `authenticate`, but a key seen in the last KEY_CACHE_TTL_S seconds skips the database.

    Expiry is still exact (the cached `expires_at` is checked on every hit). A key revoked by
    a roll in this process is forgotten at once; in other processes it keeps working for at
    most KEY_CACHE_TTL_S. Unknown keys are never cached: each one asks the database.
    """
    digest = _checked(key)
    at = now()
    owner = KEY_CACHE.get(digest, at)
    if owner is None:
        owner = await _lookup(sessions, digest)
        KEY_CACHE.put(digest, owner)
    return Principal(merchant_id=owner.merchant_id, kind=owner.kind, key_id=owner.key_id)


def _checked(key: str | None) -> str:
    """The key's SHA-256, after the checks that need no database."""
    if not key:
        raise Unauthenticated("an API key is required: send `Authorization: Bearer sk_test_…`")
    if len(key) > MAX_KEY_LENGTH or not key.startswith((SECRET_PREFIX, PUBLISHABLE_PREFIX)):
        raise Unauthenticated("invalid API key")
    return hash_api_key(key)


async def _lookup(sessions: async_sessionmaker[AsyncSession], digest: str) -> KeyOwner:
    async with UnitOfWork(sessions) as uow:
        owner = await uow.merchants.owner_of_key(digest, now())
    if owner is None:
        raise Unauthenticated("invalid, revoked or expired API key")
    return owner


class KeyCache:
    """Key hash → owner, per process; never the plaintext key."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, KeyOwner]] = {}

    def get(self, digest: str, at: datetime) -> KeyOwner | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        cached_at, owner = entry
        if time.monotonic() - cached_at >= self.ttl_s or (owner.expires_at is not None and owner.expires_at <= at):
            del self._entries[digest]
            return None
        return owner

    def put(self, digest: str, owner: KeyOwner) -> None:
        if len(self._entries) >= self.max_entries:
            # Dicts keep insertion order: drop the oldest entry.
            del self._entries[next(iter(self._entries))]
        self._entries[digest] = (time.monotonic(), owner)

    def forget_merchant(self, merchant_id: str) -> None:
        """A roll revoked or shortened this merchant's keys: ask the database again."""
        for digest in [d for d, (_, owner) in self._entries.items() if owner.merchant_id == merchant_id]:
            del self._entries[digest]


# A revoked key keeps working in *other* API processes for at most this long (API keys are
# checked on every request; 5 s turns 3 of a create's 9 round-trips into none for busy keys).
KEY_CACHE_TTL_S = 5.0
# Far above the keys one process sees in 5 s; bounds memory at about 2 MB.
KEY_CACHE_MAX_ENTRIES = 10_000
KEY_CACHE = KeyCache(KEY_CACHE_TTL_S, KEY_CACHE_MAX_ENTRIES)
