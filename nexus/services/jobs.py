"""Periodic jobs every API process (and `nexus worker`) runs; each is safe to run concurrently
with copies of itself elsewhere (rows are claimed with SKIP LOCKED or updated idempotently)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from nexus.db.availability import is_database_unavailable
from nexus.db.uow import UnitOfWork
from nexus.domain.idempotency import KEY_TTL
from nexus.services.acquirer import SimulatedAcquirer
from nexus.services.payment_intents import cancel_expired_authorizations
from nexus.services.processing import Processor
from nexus.services.records import now
from nexus.state import AppState

log = logging.getLogger("nexus.jobs")

# Stuck attempts become eligible after NEXUS_RECOVERY_AFTER_SECONDS; checking every 5 s (or that
# delay, if shorter) bounds the extra wait.
RECOVERY_EVERY_S = 5.0
# Authorizations expire after days: a minute's lateness is immaterial.
EXPIRY_EVERY_S = 60.0
# A 3-D Secure challenge left unanswered this long fails, and the card it held encrypted is purged:
# issuers' challenge pages time out within minutes; an hour is generous to a slow cardholder.
CHALLENGE_TTL = timedelta(hours=1)
# Idempotency keys live 24 h; pruning hourly keeps the table near one day of keys.
PRUNE_EVERY_S = 3600.0
# Rows per transaction: small enough to keep locks short on hot tables.
BATCH = 100


def processor_for(state: AppState) -> Processor:
    settings = state.settings
    return Processor(
        state.sessions,
        state.cipher,
        SimulatedAcquirer(settings.bank_latency_ms),
        timedelta(seconds=settings.recovery_after_s),
    )


async def run_jobs(state: AppState) -> None:
    processor = processor_for(state)
    settings = state.settings

    async def recover() -> int:
        return await processor.recover_stuck(BATCH)

    async def expire_challenges() -> int:
        return await processor.expire_challenges(CHALLENGE_TTL, BATCH)

    async def expire() -> int:
        return await cancel_expired_authorizations(state.sessions, settings.auth_capture_window_s, BATCH)

    async def prune() -> int:
        async with UnitOfWork(state.sessions) as uow:
            count = await uow.idempotency.delete_older_than(now() - KEY_TTL - timedelta(hours=1), 1000)
            await uow.commit()
        return count

    await asyncio.gather(
        _every(min(RECOVERY_EVERY_S, settings.recovery_after_s), "recover stuck attempts", recover),
        _every(EXPIRY_EVERY_S, "cancel expired authorizations", expire),
        _every(EXPIRY_EVERY_S, "fail unanswered 3-D Secure challenges", expire_challenges),
        _every(PRUNE_EVERY_S, "prune idempotency keys", prune),
    )


async def _every(period: float, name: str, job: Callable[[], Awaitable[int]]) -> None:
    while True:
        try:
            count = await job()
            if count:
                log.info("%s: %d", name, count)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # A failing job (database restarting, say) must not stop its loop; the next run retries.
            if is_database_unavailable(error):
                log.warning("job %s: database unavailable (%s); retrying in %.0f s", name, type(error).__name__, period)
            else:
                log.exception("job %s failed; retrying in %.0f s", name, period)
        await asyncio.sleep(period)
