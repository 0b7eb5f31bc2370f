"""`nexus worker`: the webhook dispatcher and background jobs without the API."""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx

from nexus.app import HTTP_MAX_CONNECTIONS
from nexus.background import start_background, stop_background
from nexus.config import Settings
from nexus.crypto import Cipher
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.db.migrations import head_revision
from nexus.observability import configure_logging
from nexus.ratelimit import RateLimiter
from nexus.state import AppState

log = logging.getLogger("nexus.worker")


async def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level)
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        http=httpx.AsyncClient(
            follow_redirects=False,
            timeout=settings.webhook_timeout,
            limits=httpx.Limits(max_connections=HTTP_MAX_CONNECTIONS),
        ),
        cipher=Cipher(settings.master_key_bytes()),
        rate_limiter=RateLimiter(0),
        head_revision=head_revision(settings.database_url),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await start_background(state, api=False, dispatcher=True)
    log.info("worker started")
    await stop.wait()
    log.info("worker stopping")
    await stop_background(state)
    await state.http.aclose()
    await engine.dispose()
