"""Who is calling: API keys are looked up by their SHA-256, never stored in plaintext."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.crypto import hash_api_key
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
    if not key:
        raise Unauthenticated("an API key is required: send `Authorization: Bearer sk_test_…`")
    if len(key) > MAX_KEY_LENGTH or not key.startswith((SECRET_PREFIX, PUBLISHABLE_PREFIX)):
        raise Unauthenticated("invalid API key")
    async with UnitOfWork(sessions) as uow:
        owner = await uow.merchants.owner_of_key(hash_api_key(key), now())
    if owner is None:
        raise Unauthenticated("invalid, revoked or expired API key")
    return Principal(merchant_id=owner.merchant_id, kind=owner.kind, key_id=owner.key_id)
