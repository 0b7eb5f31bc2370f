"""Merchants and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.core import run


@dataclass(frozen=True)
class MerchantRecord:
    id: str
    name: str
    email: str
    created_at: datetime


@dataclass(frozen=True)
class KeyOwner:
    key_id: str
    merchant_id: str
    kind: str
    expires_at: datetime | None = None


def _merchant(row: models.Merchant) -> MerchantRecord:
    return MerchantRecord(id=row.id, name=row.name, email=row.email, created_at=row.created_at)


class MerchantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, merchant_id: str, name: str, email: str) -> MerchantRecord:
        row = (
            await self.session.execute(
                insert(models.Merchant).values(id=merchant_id, name=name, email=email).returning(models.Merchant)
            )
        ).scalar_one()
        return _merchant(row)

    async def get(self, merchant_id: str) -> MerchantRecord | None:
        row = await self.session.get(models.Merchant, merchant_id)
        return _merchant(row) if row else None

    async def add_key(self, key_id: str, merchant_id: str, kind: str, key_hash: str, prefix: str) -> None:
        await self.session.execute(
            insert(models.ApiKey).values(
                id=key_id, merchant_id=merchant_id, kind=kind, key_hash=key_hash, display_prefix=prefix
            )
        )

    async def owner_of_key(self, key_hash: str, now: datetime) -> KeyOwner | None:
        row = (
            await run(
                self.session,
                select(models.ApiKey.id, models.ApiKey.merchant_id, models.ApiKey.kind, models.ApiKey.expires_at).where(
                    models.ApiKey.key_hash == key_hash,
                    (models.ApiKey.expires_at.is_(None)) | (models.ApiKey.expires_at > now),
                ),
            )
        ).first()
        if row is None:
            return None
        return KeyOwner(key_id=row.id, merchant_id=row.merchant_id, kind=row.kind, expires_at=row.expires_at)

    async def expire_keys(self, merchant_id: str, kind: str, at: datetime, except_id: str) -> None:
        """Let the current keys of this kind live until `at` (now: revoked)."""
        await self.session.execute(
            update(models.ApiKey)
            .where(
                models.ApiKey.merchant_id == merchant_id,
                models.ApiKey.kind == kind,
                models.ApiKey.id != except_id,
                (models.ApiKey.expires_at.is_(None)) | (models.ApiKey.expires_at > at),
            )
            .values(expires_at=at)
        )
