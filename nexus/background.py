"""Per-process background tasks started by the lifespan (and by `nexus worker`)."""

from __future__ import annotations

import asyncio
import logging

from nexus.state import AppState

log = logging.getLogger("nexus.background")

# Graceful shutdown budget for background loops: within uvicorn's 10 s overall.
STOP_TIMEOUT_S = 3.0


async def start_background(state: AppState, *, api: bool = True, dispatcher: bool | None = None) -> None:
    """Start the loops this process runs: recovery and expiry jobs, dispatcher, broker."""
    from nexus.services.jobs import run_jobs
    from nexus.services.retention import run_retention

    state.background.append(asyncio.create_task(run_jobs(state), name="jobs"))
    state.background.append(asyncio.create_task(run_retention(state), name="retention"))
    if dispatcher if dispatcher is not None else state.settings.run_dispatcher:
        from nexus.webhooks.dispatcher import run_dispatcher

        state.background.append(asyncio.create_task(run_dispatcher(state), name="dispatcher"))
    if api:
        from nexus.realtime.broker import Broker

        state.broker = Broker(state)
        await state.broker.start()


async def stop_background(state: AppState) -> None:
    if state.broker is not None:
        await state.broker.stop()
    for task in state.background:
        task.cancel()
    if state.background:
        _, pending = await asyncio.wait(state.background, timeout=STOP_TIMEOUT_S)
        for task in pending:
            log.warning("background task %s did not stop in time", task.get_name())
    state.background.clear()
