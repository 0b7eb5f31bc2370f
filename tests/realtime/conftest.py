"""The realtime tests' in-process application state (a broker is built on it directly)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from nexus.config import Settings
from nexus.crypto import Cipher
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.ratelimit import RateLimiter
from nexus.state import AppState


@pytest.fixture
async def state(database_url: str) -> AsyncIterator[AppState]:
    settings = Settings(DATABASE_URL=database_url, NEXUS_DATA_DIR="/tmp/nexus-test-data")
    engine = create_engine(database_url, settings, pool_size=2)
    async with httpx.AsyncClient() as http:
        yield AppState(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            http=http,
            cipher=Cipher(os.urandom(32)),
            rate_limiter=RateLimiter(0),
            head_revision=None,
        )
    await engine.dispose()
