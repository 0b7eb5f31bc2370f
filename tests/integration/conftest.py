"""Service-level fixtures: the real database, no HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nexus.config import Settings
from nexus.crypto import Cipher
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.services.acquirer import SimulatedAcquirer
from nexus.services.processing import Processor


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    settings = Settings(DATABASE_URL=database_url, NEXUS_DATA_DIR="/tmp/nexus-test-data")
    engine = create_engine(database_url, settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def processor(sessions: async_sessionmaker[AsyncSession]) -> Processor:
    return Processor(sessions, Cipher(os.urandom(32)), SimulatedAcquirer(latency_ms=0))
