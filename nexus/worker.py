"""`nexus worker`: the webhook dispatcher and background jobs without the API."""

from __future__ import annotations

import asyncio
import logging
import signal

from nexus.app import close_state, open_state
from nexus.background import start_background, stop_background
from nexus.config import Settings
from nexus.observability import configure_logging

log = logging.getLogger("nexus.worker")


async def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level)
    # No rate limit: the worker serves no API requests.
    state = open_state(settings, rate_limit=0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await start_background(state, api=False, dispatcher=True)
    log.info("worker started")
    await stop.wait()
    log.info("worker stopping")
    await stop_background(state)
    await close_state(state)
