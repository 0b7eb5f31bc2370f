"""Merchant sign-up and API key rolls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.crypto import hash_api_key
from nexus.db.repositories.merchants import MerchantRecord
from nexus.db.uow import UnitOfWork
from nexus.domain.errors import InvalidInput
from nexus.domain.ids import new_id, new_secret
from nexus.services.auth import KEY_CACHE, PUBLISHABLE_PREFIX, SECRET_PREFIX
from nexus.services.idempotency import SIGNUP_SCOPE, run_once
from nexus.services.records import now

# Shown in dashboards to tell keys apart; far too short to guess the rest from.
DISPLAY_PREFIX_CHARS = 12
MAX_NAME = 200
MAX_EMAIL = 320
# Longest overlap a rolled key may keep: Stripe allows up to 7 days.
MAX_EXPIRE_CURRENT_S = 7 * 24 * 3600
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Signup:
    merchant: MerchantRecord
    secret_key: str | None
    publishable_key: str | None
    replayed: bool


def _new_key(kind: str) -> str:
    return (SECRET_PREFIX if kind == "secret" else PUBLISHABLE_PREFIX) + new_secret(32)


def _validate_signup(name: str, email: str) -> tuple[str, str]:
    name, email = name.strip(), email.strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidInput(f"name must be 1 to {MAX_NAME} characters", ["input", "name"])
    if len(email) > MAX_EMAIL or not _EMAIL.match(email) or "\x00" in email:
        raise InvalidInput("email must be a valid address", ["input", "email"])
    return name, email


async def signup(
    sessions: async_sessionmaker[AsyncSession], name: str, email: str, idempotency_key: str | None
) -> Signup:
    name, email = _validate_signup(name, email)
    keys: dict[str, str] = {}

    async def execute(uow: UnitOfWork) -> dict[str, str]:
        merchant = await uow.merchants.add(new_id("acct"), name, email)
        for kind in ("secret", "publishable"):
            keys[kind] = _new_key(kind)
            await uow.merchants.add_key(
                new_id("key"), merchant.id, kind, hash_api_key(keys[kind]), keys[kind][:DISPLAY_PREFIX_CHARS]
            )
        # The stored response names the merchant only: keys are never stored in plaintext.
        return {"merchant_id": merchant.id}

    response, replayed = await run_once(
        sessions, SIGNUP_SCOPE, idempotency_key, "signupMerchant", {"name": name, "email": email}, execute
    )
    async with UnitOfWork(sessions) as uow:
        merchant_record = await uow.merchants.get(response["merchant_id"])
    assert merchant_record is not None
    return Signup(merchant_record, keys.get("secret"), keys.get("publishable"), replayed)


async def roll_api_key(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, kind: str, expire_current_in_seconds: int
) -> str:
    if not 0 <= expire_current_in_seconds <= MAX_EXPIRE_CURRENT_S:
        raise InvalidInput(
            f"expireCurrentInSeconds must be between 0 and {MAX_EXPIRE_CURRENT_S}",
            ["input", "expireCurrentInSeconds"],
        )
    key = _new_key(kind)
    key_id = new_id("key")
    async with UnitOfWork(sessions) as uow:
        await uow.merchants.add_key(key_id, merchant_id, kind, hash_api_key(key), key[:DISPLAY_PREFIX_CHARS])
        await uow.merchants.expire_keys(
            merchant_id, kind, now() + timedelta(seconds=expire_current_in_seconds), except_id=key_id
        )
        await uow.commit()
    # This process stops accepting the old key now; others within KEY_CACHE_TTL_S.
    KEY_CACHE.forget_merchant(merchant_id)
    return key
