"""What one process shares across requests: made once in the lifespan, passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nexus.config import Settings
from nexus.crypto import Cipher

if TYPE_CHECKING:
    from nexus.ratelimit import RateLimiter


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    cipher: Cipher
    rate_limiter: RateLimiter
    head_revision: str | None
    started: bool = False
    # The realtime broker (nexus.realtime) once started; typed loosely to avoid an import cycle.
    broker: Any = None
    background: list[Any] = field(default_factory=list)
